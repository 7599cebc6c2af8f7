"""Fixtures of the report tests: synthetic runs written through the store API, their reports, a browser."""

from __future__ import annotations

import os

import pytest

from cadsynth.report.browser import Browser, find_chromium
from cadsynth.report.build import build_report
from cadsynth.report.synthetic import make_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A finished synthetic run of 600 samples over 3 rounds, one seed image kept outside the run."""
    root = tmp_path_factory.mktemp("report-run")
    make_run(root / "run", samples=600, rounds=3, seeds=12, images=30, external_seed_image=root / "outside")
    return root / "run"


@pytest.fixture(scope="session")
def report(run_dir):
    """The report of `run_dir`, in its default place (run/report), with plots."""
    return build_report(run_dir)


@pytest.fixture(scope="session")
def chromium():
    """The chromium binary; the browser tests skip without one, unless CADSYNTH_REQUIRE_CHROMIUM is set (CI)."""
    binary = find_chromium()
    if binary is None:
        message = "chromium is not installed (apt-get install -y chromium; CI's .ci/run installs it)"
        if os.environ.get("CADSYNTH_REQUIRE_CHROMIUM"):
            pytest.fail(message + ", and CADSYNTH_REQUIRE_CHROMIUM is set")
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def browser(chromium):
    with Browser(chromium, width=1400, height=1000, timeout=30) as b:
        yield b
