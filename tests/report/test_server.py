"""`cadsynth view`: files of the run only, every way out refused, live rebuilds when the run changes."""

from __future__ import annotations

import http.client
import os
import random
import shutil

import pytest

from cadsynth.records import Partition
from cadsynth.report.server import Viewer
from cadsynth.report.synthetic import make_run, png
from cadsynth.store import RunStore


def get(viewer: Viewer, path: str, method: str = "GET") -> tuple[int, bytes, dict]:
    """A raw request: http.client sends the path exactly as given (no normalisation of ../)."""
    host, port = viewer.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"{host}:{port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A viewer of a small run that is still in progress, with a secret next to the run and links out."""
    root = tmp_path_factory.mktemp("view")
    (root / "secret.txt").write_text("not for the viewer")
    run = root / "run"
    make_run(run, samples=60, rounds=2, seeds=6, images=8, finished=False, llm_member=False)
    os.symlink(root / "secret.txt", run / "link-out.txt")
    os.symlink(root, run / "dir-out")
    os.symlink(run / "manifest.json", run / "link-in.json")
    viewer = Viewer(run, port=0).start()
    yield viewer, run
    viewer.stop()


def test_binds_loopback_by_default(live):
    viewer, _ = live
    assert viewer.httpd.server_address[0] == "127.0.0.1"
    assert viewer.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/report/../../secret.txt",
    "/images/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/report/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/report/..%5c..%5csecret.txt",
    "/..\\secret.txt",
    "/link-out.txt",
    "/dir-out/secret.txt",
    "/secret.txt%00.png",
    "../secret.txt",
    "..",
])
def test_paths_outside_the_run_are_refused(live, path):
    viewer, _ = live
    status, body, _ = get(viewer, path)
    assert status == 403, (path, status, body)
    assert b"not for the viewer" not in body


@pytest.mark.parametrize("path", ["//secret.txt", "/etc/passwd", "//etc/passwd", "/report/nope.js"])
def test_absolute_and_missing_paths_find_nothing(live, path):
    viewer, _ = live
    status, body, _ = get(viewer, path)
    assert status in (403, 404), (path, status)
    assert b"not for the viewer" not in body and b"root:" not in body


def test_serves_the_report_and_the_run_files(live):
    viewer, run = live
    status, _, headers = get(viewer, "/")
    assert status == 302 and headers["Location"] == "/report/index.html"
    status, body, headers = get(viewer, "/report/index.html")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"CADS_BUILD" in body
    status, body, _ = get(viewer, "/report/data/index.js?v=1")
    assert status == 200 and body.startswith(b"CADS.put(")
    image = next(run.glob("images/*/*.png")).relative_to(run).as_posix()
    status, body, headers = get(viewer, "/" + image)
    assert status == 200 and headers["Content-Type"] == "image/png" and body[:4] == b"\x89PNG"
    assert get(viewer, "/link-in.json")[0] == 200  # a link that stays inside the run is fine
    assert get(viewer, "/images/")[0] == 403  # no listings
    assert get(viewer, "/report/index.html", method="POST")[0] == 405
    assert get(viewer, "/report/index.html", method="HEAD")[0] == 200


def test_new_samples_appear_on_refresh(live):
    viewer, run = live
    get(viewer, "/report/index.html")
    _, before, _ = get(viewer, "/report/data/index.js")
    store = RunStore.open(run)
    template = next(store.samples())
    image = store.put_image(png(random.Random(7)))
    fresh = template.model_copy(update={"id": "fresh-sample-0001", "image": image,
                                        "partition": Partition.ADVERSARIAL})
    store.commit_unit(3, "r3:extra", [fresh])
    assert b"fresh-sample-0001" not in before
    status, _, _ = get(viewer, "/report/index.html")  # the refresh
    assert status == 200
    _, after, _ = get(viewer, "/report/data/index.js")
    assert b"fresh-sample-0001" in after
    _, summary, _ = get(viewer, "/report/data/summary.js")
    assert b'"live":true' in summary


def test_a_build_failure_is_reported_not_crashed(tmp_path):
    run = tmp_path / "run"
    make_run(run, samples=10, rounds=1, seeds=2, images=2, llm_member=False)
    viewer = Viewer(run, port=0).start()
    try:
        (run / "manifest.json").unlink()
        status, body, _ = get(viewer, "/report/index.html")
        assert status == 500 and b"report build failed" in body
        shutil.copy(run / "seeds.jsonl", run / "seeds.copy")  # the server is still up
        assert get(viewer, "/seeds.copy")[0] == 200
    finally:
        viewer.stop()
