import io
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from scripted_server import ScriptedServer, chat_completion, http_error, rate_limited

import cadsynth
from cadsynth.config import EndpointPolicy
from cadsynth.eval.backends import EndpointBackend, TinyBackend
from cadsynth.eval.bench import Item, data_root, load_benchmark
from cadsynth.eval.runner import (
    PREDICTIONS,
    EvalConfigChanged,
    bootstrap_ci,
    build_prompt,
    evaluate,
)
from cadsynth.train.rewards import matcher_info

JUDGE = Path(cadsynth.__file__).parent / "local" / "weights" / "judge-a"
CHAT = "/v1/chat/completions"
needs_mathv = pytest.mark.skipif(not (data_root() / "mathv").is_dir(), reason="../shared/data/mathv not present")


def _policy(**kw):
    return EndpointPolicy(max_concurrency=4, max_retries=2, backoff_base_s=0.0, backoff_max_s=0.0, timeout_s=10, **kw)


def test_bootstrap_ci_is_reproducible_and_sensible():
    assert bootstrap_ci([1] * 20) == (1.0, 1.0)
    assert bootstrap_ci([0] * 20) == (0.0, 0.0)
    half = [1, 0] * 50
    low, high = bootstrap_ci(half)
    assert bootstrap_ci(half) == (low, high)  # fixed seed
    assert 0.38 <= low <= 0.42 and 0.58 <= high <= 0.62  # about 0.5 +- 1.96 * 0.05
    other = bootstrap_ci(half, seed=1)
    assert abs(other[0] - low) <= 0.02 and abs(other[1] - high) <= 0.02


def test_prompt_layout():
    item = Item("1", "Which is largest?", "B", "mcq", None, {"A": "3", "B": "7"})
    assert build_prompt(item, "plain") == "Which is largest?\n(A) 3\n(B) 7\nAnswer with the option's letter."
    drawn = Item("2", "Which figure?", "C", "mcq", None, {k: k for k in "ABCDE"})
    assert "Choices: A, B, C, D, E" in build_prompt(drawn, "plain")
    inline = Item("3", "Pick one: (A) 1 (B) 2", "A", "mcq", None, {"A": "1", "B": "2"})
    assert build_prompt(inline, "plain").count("(A)") == 1  # options already in the question are not repeated
    assert build_prompt(Item("4", "Area?", "12", "integer", None), "r1").endswith("\\boxed{}.")


@needs_mathv
def test_endpoint_eval_on_mathv_resumes_without_resending(tmp_path, monkeypatch):
    monkeypatch.setenv("CADSYNTH_TEST_KEY", "sk-secret-value")
    bench = load_benchmark("mathv", limit=8)
    first = bench.items[0]
    # 8 items: 5 answered (one after a 429), then 3 failures that are not retried (HTTP 400)
    script = [rate_limited(0)] + [chat_completion(f"<think>look</think> \\boxed{{{first.answer}}}")] * 5
    script += [http_error(400, "bad request")] * 3
    server = ScriptedServer({CHAT: script})
    with server as url:
        backend = EndpointBackend(url + "/v1", "scripted-vlm", "CADSYNTH_TEST_KEY", policy=_policy())
        results = evaluate(bench, backend, tmp_path / "ev")
        assert server.count(CHAT) == 9
        assert results["n_errors"] == 3 and results["n_graded"] == 5
        request = server.requests[-1]
        assert request.headers["Authorization"] == "Bearer sk-secret-value"
        body = request.json()
        assert body["model"] == "scripted-vlm" and body["messages"][0]["content"][0]["image_url"]["url"].startswith(
            "data:image/")

        # rerun: only the 3 failed items are asked again (the server now answers by default)
        server.default = chat_completion("\\boxed{0}")
        backend = EndpointBackend(url + "/v1", "scripted-vlm", "CADSYNTH_TEST_KEY", policy=_policy())
        results = evaluate(bench, backend, tmp_path / "ev")
        assert server.count(CHAT) == 12 and results["n_errors"] == 0 and results["n_graded"] == 8

        # a third run sends nothing and grades the same
        backend = EndpointBackend(url + "/v1", "scripted-vlm", "CADSYNTH_TEST_KEY", policy=_policy())
        again = evaluate(bench, backend, tmp_path / "ev")
        assert server.count(CHAT) == 12 and again["accuracy"] == results["accuracy"]

    assert results["matcher"] == matcher_info() and results["model"]["api_key_env"] == "CADSYNTH_TEST_KEY"
    assert results["prompt"]["template"] == "r1" and results["date"]
    for path in (tmp_path / "ev").iterdir():
        assert "sk-secret-value" not in path.read_text()
    correct = [row for row in results["items"] if row["correct"]]
    assert all(row["extracted"] == row["answer"] for row in correct)
    assert {row["id"] for row in results["items"]} == {item.id for item in bench.items}


def test_torn_last_line_is_cut_and_redone(tmp_path):
    bench_items = [Item(str(i), f"q{i}", "1", "integer", None) for i in range(3)]
    from cadsynth.eval.bench import Benchmark

    bench = Benchmark("toy", "-", bench_items)
    out = tmp_path / "ev"
    server = ScriptedServer(default=chat_completion("\\boxed{1}"))
    with server as url:
        evaluate(bench, EndpointBackend(url, "m", policy=_policy()), out, template="plain")
        lines = (out / PREDICTIONS).read_bytes().splitlines(keepends=True)
        (out / PREDICTIONS).write_bytes(b"".join(lines[:2]) + lines[2][:10])  # a kill mid-write
        results = evaluate(bench, EndpointBackend(url, "m", policy=_policy()), out, template="plain")
        assert server.count() == 4 and results["accuracy"] == 1.0
        with pytest.raises(EvalConfigChanged, match="prompt"):
            evaluate(bench, EndpointBackend(url, "m", policy=_policy()), out, template="r1")


@needs_mathv
def test_tiny_model_on_mathv(tmp_path):
    bench = load_benchmark("mathv", limit=24)
    backend = TinyBackend(JUDGE)
    started = time.perf_counter()
    results = evaluate(bench, backend, tmp_path / "ev", template="plain")
    print(f"tiny eval: {len(bench.items) / (time.perf_counter() - started):.1f} items/s")
    assert results["n_graded"] == 24 and backend.calls == 1
    accuracy, (low, high) = results["accuracy"], results["ci95"]
    assert 0.0 <= low <= accuracy <= high <= 1.0
    subjects = results["by_subject"]
    assert sum(row["n"] for row in subjects.values()) == 24
    assert sum(row["correct"] for row in subjects.values()) == round(accuracy * 24)
    assert set(results["by_level"]) <= {"1", "2", "3", "4", "5"}
    assert results["model"]["backend"] == "tiny" and results["prompt"]["template"] == "plain"
    saved = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert saved["accuracy"] == accuracy and len(saved["items"]) == 24

    again = TinyBackend(JUDGE)
    evaluate(bench, again, tmp_path / "ev", template="plain")
    assert again.calls == 0  # resume: nothing asked twice


def test_synthesized_split_and_field_mapped_benchmarks(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(buffer, "PNG")
    rows = [{"images": [{"bytes": buffer.getvalue(), "path": "a.png"}], "problem": "<image>How many bars?\nA. 3\nB. 4",
             "answer": "B", "answer_type": "mcq", "id": "s1", "family": "bars", "difficulty": 2},
            {"images": [{"bytes": buffer.getvalue(), "path": "a.png"}], "problem": "<image>Distance?",
             "answer": "2√5", "answer_type": "expression", "id": "s2", "family": "grid", "difficulty": 1}]
    split = tmp_path / "export"
    split.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), split / "test.parquet")
    bench = load_benchmark("synth", split, image_cache=tmp_path / "images")
    assert [(i.subject, i.level, i.answer_type) for i in bench.items] == [("bars", "2", "mcq"), ("grid", "1", "expression")]
    assert bench.items[0].choices == {"A": "3", "B": "4"}

    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    (tmp_path / "b.jsonl").write_text(json.dumps({"qid": "7", "q": "Value?", "gold": "6.9V", "img": "x.png",
                                                  "topic": "physics"}) + "\n")
    bench2 = load_benchmark("jsonl", tmp_path / "b.jsonl",
                            fields={"id": "qid", "question": "q", "answer": "gold", "image": "img", "subject": "topic"})
    assert bench2.items[0].answer == "6.9V" and bench2.items[0].subject == "physics"

    with ScriptedServer({CHAT: [chat_completion("\\boxed{(B)}"), chat_completion("\\boxed{2\\sqrt{5}}")]}) as url:
        # concurrency 1 keeps the scripted replies in item order
        backend = EndpointBackend(url + "/v1", "m", policy=EndpointPolicy(max_concurrency=1, max_retries=0))
        results = evaluate(bench, backend, tmp_path / "ev")
    assert results["accuracy"] == 1.0 and set(results["by_subject"]) == {"bars", "grid"}


def test_eval_command(tmp_path):
    import typer
    from typer.testing import CliRunner

    from cadsynth.eval.cli import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    (tmp_path / "b.jsonl").write_text(
        "".join(json.dumps({"id": str(i), "question": "How many circles?", "answer": "1", "image": "x.png"}) + "\n"
                for i in range(4)))
    result = CliRunner().invoke(app, ["eval", "--bench", "jsonl", "--path", str(tmp_path / "b.jsonl"), "--model",
                                      str(JUDGE), "--out", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and (tmp_path / "ev" / "results.json").is_file()


def test_a_larger_limit_keeps_earlier_answers(tmp_path):
    from cadsynth.eval.bench import Benchmark

    items = [Item(str(i), f"q{i}", "1", "integer", None) for i in range(5)]
    server = ScriptedServer(default=chat_completion("\\boxed{1}"))
    with server as url:
        evaluate(Benchmark("toy", "-", items[:2]), EndpointBackend(url, "m", policy=_policy()), tmp_path, "plain")
        results = evaluate(Benchmark("toy", "-", items), EndpointBackend(url, "m", policy=_policy()), tmp_path, "plain")
        assert server.count() == 5 and results["n_graded"] == 5
        with pytest.raises(EvalConfigChanged, match="model"):
            evaluate(Benchmark("toy", "-", items), EndpointBackend(url, "other", policy=_policy()), tmp_path, "plain")


def test_endpoint_calls_run_concurrently_up_to_the_limit(tmp_path):
    import dataclasses

    from cadsynth.eval.bench import Benchmark

    items = [Item(str(i), f"q{i}", "1", "integer", None) for i in range(12)]
    server = ScriptedServer(default=dataclasses.replace(chat_completion("\\boxed{1}"), delay=0.1))
    with server as url:
        results = evaluate(Benchmark("toy", "-", items), EndpointBackend(url, "m", policy=_policy()), tmp_path, "plain")
    assert results["accuracy"] == 1.0 and server.peak_in_flight == 4  # _policy(): max_concurrency=4
