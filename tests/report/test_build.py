"""The static report: layout, relative links only, nothing from the network, a copy that works elsewhere."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from PIL import Image

from cadsynth.report.build import CHUNK, build_report


def _data(report_dir: Path, name: str):
    """The value a data/*.js file puts (CADS.put(name, value); or CADS.chunk(n, rows);)."""
    text = (report_dir / "data" / name).read_text()
    match = re.fullmatch(r"CADS\.(?:put|chunk)\(([^,]+),(.*)\);\n", text, re.S)
    assert match, text[:80]
    return json.loads(match.group(2))


def _referenced_images(report_dir: Path) -> list[str]:
    index = _data(report_dir, "index.js")
    seeds = _data(report_dir, "seeds.js")
    paths = [index["base"] + p for p in index["cols"]["img"] if p]
    return sorted(set(paths + [s["image"] for s in seeds.values() if s["image"]]))


def test_layout_and_relative_links(report, run_dir):
    out = report.out
    assert out == run_dir / "report" and report.samples == 600
    html = (out / "index.html").read_text()
    assert "<script>" in html and "CADS_BUILD" in html and "{{" not in html
    # nothing loads from the network: no http(s) or protocol-relative URL in src/href
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)
    assert not re.search(r"https?://", html)
    index = _data(out, "index.js")
    assert index["n"] == 600 and index["base"] == "../" and index["chunk"] == CHUNK
    chunks = sorted((out / "data").glob("samples-*.js"))
    assert len(chunks) == (600 + CHUNK - 1) // CHUNK
    first = _data(out, "samples-0000.js")
    assert [r["id"] for r in first] == index["cols"]["id"][:CHUNK]
    assert {"judgement", "provenance", "flags", "context_key"} <= set(first[0])
    for rel in _referenced_images(out):
        assert not rel.startswith("/") and (out / rel).resolve().is_file(), rel
    # the seed kept outside the run is copied into the report
    assert any(p.startswith("seed-images/") for p in _referenced_images(out))


def test_plots_are_readable_pngs(report):
    summary = _data(report.out, "summary.js")
    names = {p["name"] for p in summary["plots"]}
    assert names == {"funnel", "consensus", "adversarial", "mix", "difficulty", "diversity", "agreement", "accuracy"}
    for plot in summary["plots"]:
        assert plot["title"] and plot["caption"]
        with Image.open(report.out / plot["file"]) as image:
            assert image.format == "PNG" and image.width >= 400 and image.height >= 200


def test_out_of_the_run_copies_images_and_survives_a_move(run_dir, tmp_path):
    result = build_report(run_dir, tmp_path / "elsewhere", draw_plots=False)
    assert result.image_files > 0
    moved = tmp_path / "moved"
    shutil.move(str(tmp_path / "elsewhere"), moved)
    assert _data(moved, "index.js")["base"] == ""
    for rel in _referenced_images(moved):
        assert (moved / rel).is_file(), rel
        assert (moved / rel).resolve().is_relative_to(moved.resolve())


def test_rebuild_replaces_data_and_leaves_no_temporary_folders(run_dir, tmp_path):
    out = tmp_path / "r"
    build_report(run_dir, out, copy_images=False, draw_plots=False)
    first = _data(out, "summary.js")["build"]
    build_report(run_dir, out, copy_images=False, draw_plots=False)
    assert _data(out, "summary.js")["build"] != first
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    # linked, not copied, from outside the run: relative links back into it
    assert _data(out, "index.js")["base"].endswith("/") and not (out / "images").exists()
