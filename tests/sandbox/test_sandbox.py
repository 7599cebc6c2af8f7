"""The sandbox against real processes: happy paths, the hostile corpus, and a host that must stay unchanged."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from cadsynth.sandbox import Limits, Sandbox
from cadsynth.sandbox.hostile import HOSTILE, HostileCase

LIMITS = Limits(cpu_s=1, wall_s=3)  # small, so the timeout cases stay fast
SECRET = "CADSYNTH_SANDBOX_SECRET"
HAS_DOT = shutil.which("dot") is not None
if os.environ.get("CADSYNTH_REQUIRE_GRAPHVIZ") and not HAS_DOT:  # CI installs it: a skip there hides a failure
    raise RuntimeError("CADSYNTH_REQUIRE_GRAPHVIZ is set but graphviz's dot is not on PATH")
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="graphviz not installed (apt-get install graphviz)")

BAR_CHART = """
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.bar(["apples", "pears", "plums"], [3, 5, 2], color="tab:blue")
ax.set_title("Fruit sold")
"""
SVG_TEXT = """<svg xmlns="http://www.w3.org/2000/svg" width="448" height="448">
<rect x="20" y="20" width="200" height="100" fill="#c00"/>
<text x="40" y="300" font-size="48" fill="black">Hello SVG</text></svg>"""
DOT_GRAPH = "digraph { rankdir=LR; start -> middle -> end; start -> end }"


@dataclass
class Host:
    """What the hostile jobs aim at: a planted file in a fake home, a path outside, a listening server."""

    home: Path
    planted: Path
    outside: Path
    server: socket.socket

    def code(self, case: HostileCase) -> str:
        return case.code_for(planted=str(self.planted), outside=str(self.outside),
                             port=self.server.getsockname()[1])


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("home")
    planted = home / "secret.txt"
    planted.write_text("TOP SECRET")
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    yield Host(home, planted, Path(f"/tmp/cadsynth-escape-{uuid.uuid4().hex}"), server)
    server.close()


@pytest.fixture(scope="module")
def sandbox():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET, "s3cret")  # the workers must not pass it on to jobs
        pool = Sandbox(workers=2, limits=LIMITS)
    yield pool
    pool.close()


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _processes_inside(directory: str) -> list[int]:
    """Processes whose working directory is a job directory: a job that escaped its process group."""
    inside = []
    for entry in Path("/proc").iterdir():
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(directory):
            inside.append(int(entry.name))
    return inside


def assert_host_unchanged(host: Host, pool: Sandbox) -> None:
    assert host.planted.read_text() == "TOP SECRET"
    assert sorted(p.name for p in host.home.iterdir()) == ["secret.txt"]
    assert not host.outside.exists()
    with pytest.raises(BlockingIOError):  # the loopback server saw no connection
        host.server.accept()
    assert _processes_inside(pool.directory) == []
    assert os.listdir(pool.directory) == []  # every job directory was removed


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_layers_in_force(sandbox: Sandbox):
    assert "rlimits" in sandbox.layers and "audit_hook" in sandbox.layers
    if os.geteuid() == 0:
        assert "uid:nobody" in sandbox.layers


def test_matplotlib_bar_chart(sandbox: Sandbox):
    result = sandbox.render("matplotlib", BAR_CHART)
    assert result.ok, result.message
    image = _image(result.png)
    assert image.format == "PNG" and image.mode == "RGB" and image.size == (448, 448)
    assert (31, 119, 180) in {color for _, color in image.getcolors(448 * 448)}  # tab:blue bars


def test_matplotlib_figure_object_and_own_file(sandbox: Sandbox):
    built = sandbox.render("matplotlib", "from matplotlib.figure import Figure\nfig = Figure(figsize=(6, 3))\n"
                                         "fig.add_subplot().plot([1, 3, 2])")
    assert built.ok, built.message
    assert _image(built.png).size == (448, 224)  # the longer side fits the 448 px canvas
    saved = sandbox.render("matplotlib", "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                                         "plt.savefig('out.png', dpi=50)")
    assert saved.ok, saved.message
    assert _image(saved.png).size == (224, 224)


def test_svg_with_text(sandbox: Sandbox):
    result = sandbox.render("svg", SVG_TEXT)
    assert result.ok, result.message
    image = _image(result.png)
    assert image.mode == "RGB" and image.size == (448, 448)
    assert image.getpixel((100, 60)) == (204, 0, 0)
    assert image.getpixel((5, 5)) == (255, 255, 255)  # transparency flattened onto white
    text_band = image.crop((30, 250, 440, 310)).convert("L")
    assert text_band.getextrema()[0] < 80  # the glyphs were drawn


@needs_dot
def test_dot_graph(sandbox: Sandbox):
    result = sandbox.render("dot", DOT_GRAPH)
    assert result.ok, result.message
    image = _image(result.png)
    assert image.mode == "RGB" and max(image.size) <= 448 and min(image.size) > 20


def test_render_async(sandbox: Sandbox):
    async def three():
        return await asyncio.gather(*(sandbox.render_async("matplotlib", BAR_CHART) for _ in range(3)))

    assert all(result.ok for result in asyncio.run(three()))


def test_unknown_language(sandbox: Sandbox):
    with pytest.raises(ValueError, match="unknown language"):
        sandbox.render("latex", "x")


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_hostile_case_is_stopped(sandbox: Sandbox, host: Host, case: HostileCase):
    if case.language == "dot" and not HAS_DOT:
        pytest.skip("graphviz not installed")
    result = sandbox.render(case.language, host.code(case))
    assert not result.ok
    assert result.reason.startswith(case.expected), f"{result.reason}: {result.message}"
    assert result.message or result.reason.startswith("forbidden:")
    assert_host_unchanged(host, sandbox)


def test_pool_survives_the_corpus(sandbox: Sandbox, host: Host):
    pids = sandbox.worker_pids
    assert len(pids) == 2 and _descendants(os.getpid()) >= set(pids)
    assert all(sandbox.render("matplotlib", BAR_CHART).ok for _ in range(3))
    assert sandbox.worker_pids == pids  # no job took a worker down with it
    assert_host_unchanged(host, sandbox)


def test_dead_worker_is_replaced(sandbox: Sandbox):
    victim, survivor = sandbox.worker_pids
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while victim in sandbox.worker_pids and time.monotonic() < deadline:  # killed from outside, between jobs
        time.sleep(0.05)
    assert all(sandbox.render("matplotlib", BAR_CHART).ok for _ in range(2))
    pids = sandbox.worker_pids
    assert len(pids) == 2 and survivor in pids and victim not in pids


KERNEL_STOPS = {  # with the audit hook off, the kernel alone must still refuse these
    "read_etc_passwd", "read_planted", "read_proc_environ", "list_home", "write_outside", "write_os_open",
    "overwrite_planted", "remove_planted", "rmtree_home", "write_proc_mem", "socket_connect", "subprocess_run",
    "os_system", "os_fork", "fork_bomb", "os_exec", "ctypes_system", "ctypes_pythonapi", "kill_worker",
    "symlink_output", "allocate_10gb", "write_10gb_file",
}


def test_kernel_layers_hold_without_the_audit_hook(host: Host):
    with Sandbox(workers=1, limits=LIMITS, audit_hook=False) as pool:
        if not any(layer.startswith("landlock") for layer in pool.layers) or "netns" not in " ".join(pool.layers):
            pytest.skip(f"this kernel lacks Landlock or network namespaces: {pool.layers}")
        assert "audit_hook" not in pool.layers
        for case in (case for case in HOSTILE if case.name in KERNEL_STOPS):
            result = pool.render(case.language, host.code(case))
            assert not result.ok, case.name
            assert_host_unchanged(host, pool)
        assert pool.render("matplotlib", BAR_CHART).ok


def test_missing_graphviz_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from cadsynth.sandbox.zygote import Worker  # in this process: the answer comes before any fork

    monkeypatch.setenv("PATH", "/nonexistent")
    result = Worker(str(tmp_path), LIMITS, audit_hook=True).run("dot", DOT_GRAPH)
    assert result["reason"] == "unavailable:graphviz" and result["png"] is None
    assert "apt-get install graphviz" in result["message"]
