"""Write the static report of a run: one HTML file, plots, sample data in chunks, and relative image links.

Layout of the report folder (``RUN/report/`` by default)::

    index.html               the whole app: HTML, CSS and JS inline, no external library, no network
    data/summary.js          overview aggregates, plots list, context keys
    data/index.js            one compact row per sample (the fields that filters, search and the list need)
    data/seeds.js            the seed pool, with each seed's image
    data/samples-NNNN.js     full sample records, CHUNK a file, loaded only when a sample is opened
    data/ctx-NNNN.js         every version of one generation context, loaded when needed
    plots/*.png              matplotlib plots
    images/, seed-images/    copies of the images, when the report lives outside the run directory

Data files are JavaScript (``CADS.put(name, value)``) rather than JSON so that a report opened from ``file://``
can load them with ``<script>`` tags, which browsers allow where ``fetch()`` of local files is blocked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from cadsynth.report import plots
from cadsynth.report.data import RunData, collect
from cadsynth.store import atomic_write

CHUNK = 250  # samples per detail file


@dataclass
class BuildResult:
    out: Path
    index_html: Path
    samples: int
    seconds: float
    bytes: int  # report files without copied images
    image_files: int  # images linked or copied into the report folder


def _js(name: str, value: Any) -> str:
    payload = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"CADS.put({json.dumps(name)},{payload});\n"


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _place(src: Path, dst: Path) -> bool:
    """Hard-link (or copy) a file into the report; False when it was already there."""
    if dst.exists() and dst.stat().st_size == src.stat().st_size:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def _asset(name: str) -> str:
    return resources.files("cadsynth.report").joinpath("static", name).read_text(encoding="utf-8")


def render_html(title: str, build: str) -> str:
    html = _asset("index.html")
    return (html.replace("{{TITLE}}", _escape(title)).replace("{{BUILD}}", build)
            .replace("/*{{CSS}}*/", _asset("style.css")).replace("/*{{JS}}*/", _asset("app.js")))


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def build_report(run_dir: Path, out: Path | None = None, copy_images: bool | None = None, live: bool = False,
                 data: RunData | None = None, draw_plots: bool = True) -> BuildResult:
    """Build the report of `run_dir` into `out` (default ``run_dir/report``).

    Images are linked relatively into the run (``../images/...``) when `out` is inside the run directory, and
    copied (hard-linked where possible) into `out` otherwise, or whenever `copy_images` is true, so the folder
    can be moved or copied elsewhere. `draw_plots=False` keeps the plots of the last build (the live viewer
    redraws them less often than it refreshes the samples).
    """
    started = time.perf_counter()
    run = Path(run_dir)
    data = data or collect(run, live=live)
    out = Path(out) if out is not None else run / "report"
    out.mkdir(parents=True, exist_ok=True)
    if copy_images is None:
        copy_images = not _inside(out, run)
    base = "" if copy_images else Path(os.path.relpath(run.resolve(), out.resolve())).as_posix().rstrip("/") + "/"
    if base == "./":
        base = ""
    build = hashlib.sha256(f"{time.time_ns()}:{data.index['n']}".encode()).hexdigest()[:12]

    # -- images -------------------------------------------------------------------------------------------------
    placed = 0
    if copy_images:
        for rel in sorted(data.sample_images):
            src = run / rel
            if src.exists():
                placed += _place(src, out / rel)
    seeds = {}
    for seed_id, seed in data.seeds.items():
        seed = dict(seed)
        image = data.seed_images.get(seed_id)
        if image is not None:
            if _inside(image, run) and not copy_images:
                seed["image"] = base + image.resolve().relative_to(run.resolve()).as_posix()
            elif _inside(image, run):
                rel = image.resolve().relative_to(run.resolve()).as_posix()
                placed += _place(image, out / rel)
                seed["image"] = rel
            else:  # a seed pool kept outside the run: the report holds its own copy
                digest = hashlib.sha256(str(image.resolve()).encode()).hexdigest()[:20]
                rel = f"seed-images/{digest}{image.suffix.lower() or '.png'}"
                placed += _place(image, out / rel)
                seed["image"] = rel
        seeds[seed_id] = seed

    # -- data files, written to a fresh folder and swapped in ----------------------------------------------------
    fresh = out / f".data-{build}"
    fresh.mkdir(parents=True)
    written = 0

    def write(name: str, text: str) -> None:
        nonlocal written
        (fresh / name).write_text(text, encoding="utf-8")
        written += len(text.encode())

    records = data.records
    chunks = (len(records) + CHUNK - 1) // CHUNK
    for n in range(chunks):
        write(f"samples-{n:04d}.js", f"CADS.chunk({n},"
              + json.dumps(records[n * CHUNK:(n + 1) * CHUNK], ensure_ascii=False, separators=(",", ":"))
              + ");\n")
    context_files = []
    for n, (key, versions) in enumerate(sorted(data.contexts.items())):
        write(f"ctx-{n:04d}.js", _js(f"ctx:{key}", versions))
        context_files.append({"key": key, "file": f"ctx-{n:04d}.js",
                              "versions": [c.get("version", i) for i, c in enumerate(versions)],
                              "text": any(isinstance(c, dict) and _has_text(c) for c in versions)})
    write("seeds.js", _js("seeds", seeds))
    index = dict(data.index, chunk=CHUNK, base=base)
    write("index.js", _js("index", index))

    figures = plots.render_all(data.summary, data.contexts, out / "plots") if draw_plots else plots.listing()
    summary = dict(data.summary, build=build, base=base, chunk=CHUNK, chunks=chunks, plots=figures,
                   contexts=context_files, copy_images=copy_images)
    summary["build_seconds"] = round(time.perf_counter() - started, 3)
    write("summary.js", _js("summary", summary))

    current = out / "data"
    old = out / f".data-old-{build}"
    if current.exists():
        os.replace(current, old)
    os.replace(fresh, current)
    shutil.rmtree(old, ignore_errors=True)
    for stale in out.glob(".data-*"):  # left by a build that was killed
        shutil.rmtree(stale, ignore_errors=True)

    html = render_html(f"cadsynth report: {data.summary['name']}", build)
    atomic_write(out / "index.html", html)
    written += len(html.encode()) + sum(p.stat().st_size for p in out.glob("plots/*.png"))
    return BuildResult(out=out, index_html=out / "index.html", samples=data.index["n"],
                       seconds=time.perf_counter() - started, bytes=written, image_files=placed)


def _has_text(context: dict) -> bool:
    return any(isinstance(v, str) and ("\n" in v or len(v) > 120) for v in context.values())
