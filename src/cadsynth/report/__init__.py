"""See the data: a static HTML report of a run (`build_report`) and a live local viewer (`Viewer`).

`cadsynth report RUN` writes ``RUN/report/index.html``; `cadsynth view RUN` serves it from 127.0.0.1 and rebuilds
it when the run changes. `browser.Browser` drives headless Chromium for the tests and the benchmark.
"""

from cadsynth.report.build import BuildResult, build_report
from cadsynth.report.data import NotARun, collect

__all__ = ["BuildResult", "NotARun", "build_report", "collect"]
