"""The study report: what its tables say, its Kaplan–Meier numbers, and how it renders in a real
headless Chromium (Debian's package, driven by Playwright through ``executable_path``)."""
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opiaxis.analysis import km_table
from opiaxis.report.figures import number_at_risk
from opiaxis.report.html import endpoint_rows, write_report
from opiaxis.study import load_study, run_study
from test_study_cli import ENDPOINTS, GOOD, write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_mean_endpoint_ci_is_the_ci_of_the_mean_not_the_sd():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    from statsmodels.stats.weightstats import DescrStatsW
    lo, hi = DescrStatsW(v).tconfint_mean()
    row = {"endpoint": "e", "kind": "mean", "arm": "a", "n": 4, "estimate": v.mean(), "sd": v.std(ddof=1),
           "low": lo, "high": hi}
    out = endpoint_rows(pd.DataFrame([row]))[0]
    assert out["ci"] == f"{lo:.3g} – {hi:.3g}"
    assert "SD" not in out["ci"] and f"SD {v.std(ddof=1):.3g}" in out["estimate"]


def test_km_table_confidence_band_and_numbers_at_risk():
    from lifelines import KaplanMeierFitter
    T = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 8.0])
    E = np.array([1, 1, 0, 1, 0, 1])
    tab = km_table(KaplanMeierFitter().fit(T, E))
    # S(2) = (5/6)·(4/5) with one event at 1 and one at 2 (the censoring at 2 counts as at risk)
    assert tab.set_index("time").loc[2.0, "survival"] == pytest.approx(5 / 6 * 4 / 5)
    assert (tab["low"] <= tab["survival"] + 1e-12).all() and (tab["survival"] <= tab["high"] + 1e-12).all()
    assert [number_at_risk(tab, t) for t in (0.0, 1.5, 2.0, 4.0, 9.0)] == [6, 5, 5, 2, 0]


@pytest.fixture(scope="module")
def report(tmp_path_factory, model):
    tmp = tmp_path_factory.mktemp("report")
    s = load_study(write(tmp, GOOD + ENDPOINTS), model)
    res = run_study(s, model, tmp / "o", chunk_size=50)
    write_report(tmp / "o" / "report.html", s, res)
    return tmp / "o" / "report.html", s, res


def test_report_summary_tables_and_offline_figures(report):
    path, study, res = report
    html = path.read_text()
    assert "&lt;br&gt;" not in html  # regimens are separate lines, not an escaped tag
    assert "heroin 20 mg IV q6h for 1 d<br>buprenorphine 8 mg SL q24h for 2 d from day 2" in html
    assert 'id="summary"' in html and "0 patient(s) with a solver failure" in html
    import re
    assert not re.search(r"<script[^>]+src=", html)  # nothing loaded from elsewhere: plotly.js is inline
    assert "plotly.js v" in html
    assert html.count('class="plotly-graph-div"') == 3 + 1  # three outputs, one Kaplan–Meier endpoint


@contextmanager
def opened(path: Path, errors: list):
    """A page of Debian's headless Chromium (Playwright, executable_path) showing ``path`` once its
    first Plotly figure is drawn; console errors and page errors are collected in ``errors``."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30000)
        yield page
        browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium_without_console_errors(report):
    path, study, res = report
    errors = []
    with opened(path, errors) as page:
        n_plots = page.locator(".js-plotly-plot").count()
        # every median curve is drawn: one trace path per arm in each time-course figure
        first = page.locator(".js-plotly-plot").first
        legend = first.locator(".legendtext").all_text_contents()
        summary = page.locator("#summary").inner_text()
        shot = Path(os.environ.get("OPIAXIS_SCREENSHOTS", path.parent)) / "report.png"
        page.screenshot(path=str(shot), full_page=False)
    assert errors == []
    assert n_plots == 4
    assert sorted(legend) == ["bup", "mmt"]
    assert "12 virtual patients in 2 arm(s)" in summary and "time to 50%" in summary
    assert shot.stat().st_size > 10_000


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_trial_report_renders_in_headless_chromium(tmp_path):
    from opiaxis.behaviour.trialfile import load_trial, run_trial, write_trial_outputs
    from test_trialfile import SMALL, _write
    spec = load_trial(_write(tmp_path, SMALL, "t.yaml"))
    paths = write_trial_outputs(spec, run_trial(spec), tmp_path / "out")
    errors = []
    with opened(paths[3], errors) as page:
        n_plots = page.locator(".js-plotly-plot").count()
        km_title = page.locator(".js-plotly-plot").first.locator(".gtitle").text_content()
    assert errors == []
    assert n_plots == 4 and km_title.startswith("Kaplan–Meier: relapse")
