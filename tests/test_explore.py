"""The explorer: its API driven directly, then the page clicked through in Debian's headless
Chromium (Playwright with executable_path)."""
import io
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from opiaxis.explore import create_app  # noqa: E402
from opiaxis.explore.app import read_fitted_patient  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TWO_ARMS = {"population": {"kind": "population", "size": 5}, "horizon_days": 2, "every_h": 2, "seed": 3,
            "arms": [{"name": "bup", "regimens": ["buprenorphine 16 mg SL q24h for 2 d"]},
                     {"name": "mmt", "regimens": ["methadone 60 mg oral daily for 2 d"]}]}


def _wait(client, job_id, timeout=600):
    t0 = time.time()
    while time.time() - t0 < timeout:
        s = client.get(f"/api/jobs/{job_id}").json()
        if s["state"] != "running":
            return s
        time.sleep(0.2)
    raise AssertionError("job did not finish")


@pytest.fixture(scope="module")
def client(model):
    app = create_app(model)
    with TestClient(app) as c:
        app.state.ctx.jobs.ready.result(timeout=600)
        yield c


def test_regimen_check_as_you_type(client):
    assert client.post("/api/check", json={"text": "buprenorphine 16 mg SL q24h for 3 d"}).json() == \
        {"ok": True, "message": "3 dose(s) of buprenorphine", "drugs": ["buprenorphine"]}
    bad = client.post("/api/check", json={"text": "buprenorfine 16 mg SL"}).json()
    assert bad["ok"] is False and "buprenorphine" in bad["message"]  # suggests the known drug


@pytest.mark.parametrize("change, field", [
    ({"arms": []}, "arms"),
    ({"arms": [{"name": "x", "regimens": ["heroin -5 mg IV once"]}]}, "arms[0].regimens[0]"),
    ({"population": {"kind": "population", "size": 0}}, "population.size"),
    ({"population": {"kind": "phenotype", "size": 3, "covariates": {"wealth": 1}}}, "population.covariates.wealth"),
    ({"population": {"kind": "patient"}}, "population.kind"),
    ({"horizon_days": -1}, "horizon_days"),
    ({"horizon_days": 365, "every_h": 0.25}, "every_h"),
])
def test_bad_requests_name_the_field(client, change, field):
    r = client.post("/api/runs", json={**TWO_ARMS, **change})
    assert r.status_code == 422
    assert r.json()["field"] == field


def test_two_regimens_side_by_side_match_a_direct_simulation(client, model):
    s = _wait(client, client.post("/api/runs", json=TWO_ARMS).json()["id"])
    assert s["state"] == "done", s
    panels = {p["title"]: p for p in s["result"]["panels"]}
    exposure = {x["variable"]: x for x in panels["Exposure and μ receptors"]["series"]}
    assert set(exposure) == {"buprenorphine_plasma", "methadone_plasma", "mor_occupancy_central"}
    assert set(exposure["mor_occupancy_central"]["arms"]) == {"bup", "mmt"}
    data = pd.read_csv(io.StringIO(client.get(f"/api/jobs/{s['id']}/data.csv").text))
    assert set(data["arm"]) == {"bup", "mmt"} and data["patient"].nunique() == 5
    # the page's median is the median of the downloadable data
    d = data[(data.arm == "bup") & (data.variable == "buprenorphine_plasma") & (data.time == 26.0)]["value"]
    k = int(np.argmin(np.abs(np.array(exposure["buprenorphine_plasma"]["arms"]["bup"]["day"]) - 26.0 / 24.0)))
    assert exposure["buprenorphine_plasma"]["arms"]["bup"]["p50"][k] == pytest.approx(float(d.median()), rel=1e-9)
    # and the data are the engine's: patient 1 of the bup arm, simulated here directly
    from opiaxis.engine import SolverOptions, simulate
    from opiaxis.population import sample_parameters
    from opiaxis.population.covariates import apply_covariates, sample_covariates
    from opiaxis.study import regimen_doses
    P = apply_covariates(model, sample_parameters(model, [1], 3), sample_covariates([1], 3))
    res = simulate(model, P, np.arange(0, 49, 2.0), regimen_doses(model, [1], TWO_ARMS["arms"][0]["regimens"]),
                   options=SolverOptions(rtol=1e-5))
    mine = data[(data.arm == "bup") & (data.patient == 1) & (data.variable == "buprenorphine_plasma")]["value"]
    np.testing.assert_allclose(mine.to_numpy(), res.get("buprenorphine_plasma")[0], rtol=1e-12)
    pq = pd.read_parquet(io.BytesIO(client.get(f"/api/jobs/{s['id']}/data.parquet").content))
    assert len(pq) == len(data)


def test_a_long_run_can_be_cancelled(client):
    body = {**TWO_ARMS, "population": {"kind": "population", "size": 160}, "horizon_days": 30}
    job = client.post("/api/runs", json=body).json()
    assert job["total"] == 2 * 10
    s = client.post(f"/api/jobs/{job['id']}/cancel").json()
    assert s["state"] == "cancelled"
    time.sleep(1.0)
    s = client.get(f"/api/jobs/{job['id']}").json()
    assert s["state"] == "cancelled" and s["done"] < s["total"]
    assert client.get(f"/api/jobs/{job['id']}/data.csv").status_code == 409


def test_fitted_patient_file_is_checked(tmp_path, model):
    p = tmp_path / "parameters.csv"
    p.write_text("parameter,estimate\nbuprenorphine_CL,55\nnot_a_parameter,1\n")
    with pytest.raises(Exception, match="not_a_parameter"):
        read_fitted_patient(p, model)
    p.write_text("parameter,estimate\nbuprenorphine_CL,abc\n")
    with pytest.raises(Exception, match=r"parameters.csv:2: estimate"):
        read_fitted_patient(p, model)
    p.write_text("parameter,estimate\nbuprenorphine_V1,100\nbuprenorphine_CL,-55\n")
    with pytest.raises(Exception, match=r"parameters.csv:3: estimate: buprenorphine_CL = -55 is outside its bounds"):
        read_fitted_patient(p, model)
    p.write_text("parameter,estimate\nbuprenorphine_CL,55\n")
    assert read_fitted_patient(p, model) == {"buprenorphine_CL": 55.0}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(model):
    import uvicorn
    port = _free_port()
    app = create_app(model)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    app.state.ctx.jobs.ready.result(timeout=600)
    while not srv.started:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(timeout=20)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_click_through_in_a_real_browser(server, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    errors = []
    shots = Path(os.environ.get("OPIAXIS_SCREENSHOTS", tmp_path))
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server)
        page.wait_for_selector("#worker:has-text('worker ready')", timeout=60000)
        page.fill("#size", "4")
        page.fill("#horizon", "2")
        page.fill("#every", "2")
        # the checker reacts as the line is typed
        page.locator(".arm textarea").first.fill("buprenorfine 16 mg SL q24h for 2 d")
        page.wait_for_selector(".arm .check.bad", timeout=10000)
        page.locator(".arm textarea").first.fill("buprenorphine 16 mg SL q24h for 2 d")
        page.wait_for_selector(".arm .check.ok", timeout=10000)
        page.click("#run")
        page.wait_for_selector("[data-variable=buprenorphine_plasma] .main-svg", timeout=300000)
        legend = page.locator("[data-variable=mor_occupancy_central] .legendtext").all_text_contents()
        assert legend == ["buprenorphine"]
        # compare a second regimen side by side
        page.click("#add-arm")
        page.locator(".arm textarea").nth(1).fill("methadone 60 mg oral daily for 2 d")
        page.locator(".arm .name").nth(1).fill("methadone")
        page.wait_for_selector(".arm:nth-child(2) .check.ok", timeout=10000)
        page.click("#run")
        page.wait_for_selector("[data-variable=methadone_plasma] .main-svg", timeout=300000)
        legend = page.locator("[data-variable=mor_occupancy_central] .legendtext").all_text_contents()
        assert sorted(legend) == ["buprenorphine", "methadone"]
        assert page.locator("#status").inner_text().startswith("8 patient-runs")
        with page.expect_download() as dl:
            page.click("#dl-csv")
        path = tmp_path / "data.csv"
        dl.value.save_as(path)
        data = pd.read_csv(path)
        assert set(data["arm"]) == {"buprenorphine", "methadone"}
        page.screenshot(path=str(shots / "explorer.png"))
        browser.close()
    assert errors == []


def test_a_behaviour_trial_from_a_trial_file_gives_kaplan_meier_curves(client):
    meta = client.get("/api/meta").json()
    path = next(t for t in meta["trials"] if t.endswith("fentanyl_vs_heroin.yaml"))
    s = _wait(client, client.post("/api/trials", json={"path": path, "size": 24}).json()["id"])
    assert s["state"] == "done", s
    km = s["result"]["km"]
    relapse = km["relapse (7 consecutive days of use)"]
    assert sorted(relapse) == ["naloxone-distribution", "usual-naloxone-access"]
    assert km["retention in treatment"] == {}  # neither arm is in treatment
    for curves in km.values():
        for rows in curves.values():
            surv = [r[1] for r in rows]
            assert surv[0] == 1.0 and all(a >= b for a, b in zip(surv, surv[1:]))  # a KM curve never rises
    bad = client.post("/api/trials", json={"path": "/nonexistent.yaml"})
    assert bad.status_code == 422 and bad.json()["field"] == "path"
