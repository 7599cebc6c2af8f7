"""The report in a real browser: headless Chromium (Debian's `chromium`) driven over the DevTools protocol.

Skipped with the reason when no chromium is installed; CI installs it.
"""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from cadsynth.report.build import build_report
from cadsynth.report.server import Viewer

READY = "!!document.body && document.body.dataset.ready === '1'"


def visible_ids(browser) -> list[str]:
    return browser.eval("[...document.querySelectorAll('#sample-list li.sample')].map(e => e.dataset.id)")


def visible_partitions(browser) -> set[str]:
    return set(browser.eval("[...document.querySelectorAll('#sample-list li.sample')].map(e => e.dataset.partition)"))


def broken_images(browser) -> list[str]:
    """Images in the page that load without pixels (a missing file); lazy images are made to load first."""
    return browser.eval("(() => { const all = [...document.images]; all.forEach(i => { i.loading = 'eager'; });"
                        " const wait = i => Promise.race([i.decode().catch(() => null),"
                        " new Promise(r => setTimeout(r, 5000))]);"
                        " return Promise.all(all.map(wait)).then(() => all.filter(i => i.naturalWidth === 0)"
                        ".map(i => i.getAttribute('src'))); })()")


def select(browser, name: str, value: str) -> None:
    browser.eval(f"(() => {{ const s = document.getElementById('f-{name}'); s.value = {json.dumps(value)};"
                 " s.dispatchEvent(new Event('change')); })()")


def open_report(browser, url: str) -> int:
    mark = len(browser.events)
    browser.goto(url)
    browser.wait_for(READY)
    return mark


def test_loads_without_console_errors_and_filters_by_partition(browser, report, tmp_path):
    mark = open_report(browser, report.index_html.resolve().as_uri() + "#samples")
    assert browser.eval("document.querySelectorAll('#sample-list li.sample').length") == 50
    assert visible_partitions(browser) >= {"kept", "adversarial"}
    before = visible_ids(browser)

    select(browser, "p", "adversarial")
    browser.wait_for("[...document.querySelectorAll('#sample-list li.sample')].every(e => "
                     "e.dataset.partition === 'adversarial')")
    after = visible_ids(browser)
    assert after and after != before
    assert visible_partitions(browser) == {"adversarial"}
    count = browser.eval("document.querySelector('#pager-top .count').textContent")
    assert "347 matching" in count or "matching" in count
    assert "#samples?p=adversarial" in browser.eval("location.hash")

    select(browser, "p", "discarded")
    browser.wait_for("[...document.querySelectorAll('#sample-list li.sample')].every(e => "
                     "e.dataset.partition === 'discarded')")
    assert visible_ids(browser) != after
    browser.screenshot(tmp_path / "filtered.png")
    assert browser.console_errors(mark) == []
    assert broken_images(browser) == []


def test_clicking_a_sample_shows_its_votes_and_its_seed(browser, report, tmp_path):
    mark = open_report(browser, report.index_html.resolve().as_uri() + "#samples?p=adversarial")
    first = visible_ids(browser)[0]
    browser.click("#sample-list li.sample")
    browser.wait_for("!!document.querySelector('#detail table.votes')")
    votes = browser.eval("[...document.querySelectorAll('#detail tr.vote')].map(r => r.dataset.judge)")
    assert votes == ["judge-a", "judge-b", "judge-c"]
    text = browser.eval("document.getElementById('detail').innerText")
    assert first in text and "reference answer" in text and "adversarial" in text
    assert browser.eval("/C \\d of K \\d/.test(document.querySelector('#detail h2').textContent)")
    seed = browser.eval("document.querySelector('#detail .seed').dataset.seed")
    assert seed and seed in text
    browser.wait_for("(() => { const i = document.querySelector('#detail .seed img');"
                     " return !!i && i.complete && i.naturalWidth > 0; })()")
    browser.wait_for("!!document.querySelector('#detail .context details')")
    assert "the context that produced it" in browser.eval(
        "document.querySelector('#detail .context summary').textContent").lower()
    assert browser.eval("document.querySelector('#sample-list li.selected').dataset.id") == first
    assert f"id={first}" in browser.eval("location.hash")
    shot = browser.screenshot(tmp_path / "sample.png")
    with Image.open(shot) as image:
        assert image.size == (1400, 1000)
    assert browser.console_errors(mark) == []
    assert broken_images(browser) == []


def test_search_overview_and_context_diff(browser, report):
    mark = open_report(browser, report.index_html.resolve().as_uri() + "#samples")
    browser.eval("(() => { const q = document.getElementById('f-q'); q.value = 'choose one option';"
                 " q.dispatchEvent(new Event('input')); })()")
    browser.wait_for("[...document.querySelectorAll('#sample-list li.sample .q')].every(e => "
                     "e.textContent.toLowerCase().includes('choose one option'))")
    browser.click("#tabs a[data-tab=overview]")
    browser.wait_for("!document.getElementById('tab-overview').hidden")
    assert browser.eval("document.querySelectorAll('#funnel tbody tr').length") == 4  # 3 rounds and all
    assert browser.eval("document.querySelectorAll('#plots figure img').length") == 8
    assert browser.eval("document.querySelectorAll('#judges tbody tr').length") == 3
    browser.goto(report.index_html.resolve().as_uri() + "#contexts?key=writer&a=0&b=2")
    browser.wait_for("!!document.querySelector('#ctx-diff .textdiff .add')")
    added = browser.eval("[...document.querySelectorAll('#ctx-diff .textdiff .add')].map(e => e.textContent)")
    assert any("distractors" in line for line in added)
    browser.goto(report.index_html.resolve().as_uri() + "#contexts?key=global&a=0&b=3")
    browser.wait_for("document.querySelectorAll('#ctx-diff table.diff tr.changed').length > 0")
    assert browser.console_errors(mark) == []
    assert broken_images(browser) == []


def test_a_copied_report_works_elsewhere(browser, run_dir, tmp_path):
    build_report(run_dir, tmp_path / "out")
    moved = tmp_path / "moved"
    shutil.move(str(tmp_path / "out"), moved)
    mark = open_report(browser, (moved / "index.html").as_uri() + "#samples")
    browser.click("#sample-list li.sample")
    browser.wait_for("!!document.querySelector('#detail .seed')")
    assert broken_images(browser) == []
    assert browser.console_errors(mark) == []


def test_the_viewer_serves_the_same_report_live(browser, tmp_path):
    from cadsynth.report.synthetic import make_run

    run = tmp_path / "run"
    make_run(run, samples=40, rounds=2, seeds=4, images=6, finished=False)
    viewer = Viewer(run, port=0).start()
    try:
        mark = open_report(browser, viewer.url + "#samples")
        assert len(visible_ids(browser)) == 40
        assert "in progress" in browser.eval("document.getElementById('run-state').textContent")
        assert not browser.eval("document.getElementById('banner').hidden")
        browser.click("#sample-list li.sample")
        browser.wait_for("!!document.querySelector('#detail table.votes')")
        assert browser.console_errors(mark) == []
        assert broken_images(browser) == []
        # the browser folds ../ (even encoded) into the path before sending it: nothing outside is reachable
        status, text = browser.eval("fetch('/report/%2e%2e/%2e%2e/etc/passwd')"
                                    ".then(r => r.text().then(t => [r.status, t]))")
        assert status in (403, 404) and "root:" not in text
    finally:
        viewer.stop()


@pytest.mark.parametrize("hash_", ["#overview", "#samples?p=kept&page=2", "#contexts"])
def test_every_tab_loads_cleanly(browser, report, hash_):
    mark = open_report(browser, report.index_html.resolve().as_uri() + hash_)
    browser.eval("new Promise(r => setTimeout(r, 100))")
    assert browser.console_errors(mark) == []


def test_a_run_without_samples_yet(browser, tmp_path):
    from cadsynth.store import RunStore

    store = RunStore.open(tmp_path / "new")
    store.write_json("manifest.json", {"name": "new"})
    result = build_report(store.path)
    for hash_ in ("#samples", "#overview", "#contexts"):
        mark = open_report(browser, result.index_html.resolve().as_uri() + hash_)
        assert browser.console_errors(mark) == []
    browser.goto(result.index_html.resolve().as_uri() + "#samples")
    browser.wait_for(READY)
    assert "No samples committed yet" in browser.eval("document.getElementById('sample-list').textContent")
