"""`cadsynth report` and `cadsynth view` through `register(app)`: output, errors with exit code 2."""

from __future__ import annotations

import threading

import typer
from typer.testing import CliRunner

from cadsynth.report import cli as report_cli

runner = CliRunner()


def said(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, as the real cadsynth app is
        pass

    report_cli.register(app)
    return app


def test_register_adds_both_commands():
    result = runner.invoke(make_app(), ["--help"])
    assert result.exit_code == 0 and "report" in result.output and "view" in result.output


def test_report_writes_the_folder_and_says_where(run_dir, tmp_path):
    out = tmp_path / "copy"
    result = runner.invoke(make_app(), ["report", str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and (out / "data" / "index.js").is_file()
    assert "600 samples" in said(result) and "images copied in" in said(result)
    assert "index.html" in said(result)


def test_missing_or_wrong_run_directory_is_a_clear_error(tmp_path):
    app = make_app()
    for command in ("report", "view"):
        result = runner.invoke(app, [command, str(tmp_path / "nope")])
        assert result.exit_code == 2 and "does not exist" in said(result)
        result = runner.invoke(app, [command, str(tmp_path)])
        assert result.exit_code == 2 and "not a cadsynth run directory" in said(result)


def test_view_refuses_a_port_in_use(run_dir):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(make_app(), ["view", str(run_dir), "--port", str(port)])
    assert result.exit_code == 2 and "cannot listen" in said(result)


def test_view_serves_until_interrupted(run_dir, monkeypatch):
    from cadsynth.report import server

    served = threading.Event()

    def fake_serve(self):
        served.set()
        raise KeyboardInterrupt

    monkeypatch.setattr(server.Viewer, "serve_forever", fake_serve)
    monkeypatch.setattr(server.LiveReport, "refresh", lambda self: None)
    result = runner.invoke(make_app(), ["view", str(run_dir), "--port", "0"])
    assert result.exit_code == 0, result.output
    assert served.is_set() and "http://127.0.0.1:" in said(result)
