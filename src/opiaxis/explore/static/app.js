// opiaxis explorer: the page talks to the JSON API of opiaxis.explore.app.
"use strict";
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
const $ = (id) => document.getElementById(id);
let META = null;
let JOB = null;

async function api(path, body) {
  const r = await fetch(path, body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || data.detail || r.statusText);
  return data;
}

function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

function addArm(name, text) {
  const k = document.querySelectorAll(".arm").length;
  if (k >= META.limits.arms) return;
  const div = document.createElement("div");
  div.className = "arm";
  div.innerHTML = `<input class="name" value="${name}" aria-label="regimen name">
    <button type="button" class="remove" title="remove">×</button>
    <textarea aria-label="dosing lines"></textarea><div class="check"></div>`;
  const ta = div.querySelector("textarea");
  ta.value = text;
  ta.addEventListener("input", debounce(() => checkArm(div), 250));
  div.querySelector(".remove").addEventListener("click", () => {
    if (document.querySelectorAll(".arm").length > 1) div.remove();
  });
  $("arms").appendChild(div);
  checkArm(div);
}

async function checkArm(div) {
  const lines = div.querySelector("textarea").value.split("\n").map((s) => s.trim()).filter(Boolean);
  const out = div.querySelector(".check");
  if (!lines.length) { out.className = "check"; out.textContent = "no doses (drug-free)"; return; }
  const msgs = [];
  let ok = true;
  for (const [j, ln] of lines.entries()) {
    const r = await api("/api/check", {text: ln});
    ok = ok && r.ok;
    msgs.push(`line ${j + 1}: ${r.message}`);
  }
  out.className = "check " + (ok ? "ok" : "bad");
  out.textContent = msgs.join(" · ");
}

function request() {
  const kind = document.querySelector("input[name=pop]:checked").value;
  const covariates = {};
  document.querySelectorAll("#phenotypes select").forEach((s) => {
    if (s.value !== "") covariates[s.dataset.name] = Number(s.value);
  });
  return {
    population: {kind, size: Number($("size").value), covariates},
    arms: [...document.querySelectorAll(".arm")].map((d) => ({
      name: d.querySelector(".name").value,
      regimens: d.querySelector("textarea").value.split("\n").map((s) => s.trim()).filter(Boolean),
    })),
    horizon_days: Number($("horizon").value), every_h: Number($("every").value), seed: Number($("seed").value),
  };
}

function setStatus(text, cls) { $("status").textContent = text; $("status").className = cls || ""; }

async function run() {
  $("downloads").classList.add("hidden");
  try {
    JOB = await api("/api/runs", request());
  } catch (e) { setStatus(e.message, "error"); return; }
  $("run").disabled = true; $("cancel").disabled = false;
  poll(JOB.id);
}

async function poll(id) {
  const s = await api(`/api/jobs/${id}`);
  $("progress").max = s.total; $("progress").value = s.done;
  if (s.state === "running") {
    setStatus(`simulating: ${s.done} of ${s.total} chunks`);
    setTimeout(() => poll(id), 300);
    return;
  }
  $("run").disabled = false; $("cancel").disabled = true;
  if (s.state === "done") {
    const r = s.result;
    setStatus(`${r.patients} patient-runs` + (r.failed ? `, ${r.failed} with a solver failure` : ""));
    draw(r);
    $("dl-csv").href = `/api/jobs/${id}/data.csv`;
    $("dl-parquet").href = `/api/jobs/${id}/data.parquet`;
    $("downloads").classList.remove("hidden");
  } else {
    setStatus(s.message || s.state, s.state === "error" ? "error" : "");
  }
}

function draw(result) {
  const root = $("plots");
  root.innerHTML = "";
  const arms = Object.keys((result.panels.find((p) => p.series.length && Object.keys(p.series[0].arms).length) ||
                            {series: [{arms: {}}]}).series[0].arms);
  result.panels.forEach((panel, pi) => {
    if (!panel.series.length) return;
    const sec = document.createElement("div");
    sec.className = "panel";
    sec.innerHTML = `<h3>${panel.title}</h3>`;
    root.appendChild(sec);
    panel.series.forEach((ser, si) => {
      const div = document.createElement("div");
      div.className = "plot";
      div.id = `plot-${pi}-${si}`;
      div.dataset.variable = ser.variable;
      sec.appendChild(div);
      const traces = [];
      Object.entries(ser.arms).forEach(([arm, d]) => {
        const c = COLORS[arms.indexOf(arm) % COLORS.length];
        traces.push({x: d.day.concat([...d.day].reverse()), y: d.p95.concat([...d.p05].reverse()), fill: "toself",
                     fillcolor: c + "2e", line: {width: 0}, hoverinfo: "skip", showlegend: false, legendgroup: arm,
                     name: arm + " 5–95%"});
        traces.push({x: d.day, y: d.p50, name: arm, legendgroup: arm, line: {color: c, width: 2},
                     hovertemplate: `day %{x:.2f}: %{y:.4g}<extra>${arm} median</extra>`});
      });
      Plotly.newPlot(div, traces, {
        title: {text: ser.variable, font: {size: 13}}, margin: {l: 55, r: 10, t: 32, b: 36},
        xaxis: {title: {text: "day"}}, yaxis: {title: {text: ser.unit}}, template: "plotly_white",
        legend: {orientation: "h", y: -0.22},
      }, {displaylogo: false, responsive: true, toImageButtonOptions: {format: "png", filename: ser.variable}});
    });
  });
}

async function cancel() {
  if (!JOB) return;
  const s = await api(`/api/jobs/${JOB.id}/cancel`, {});
  setStatus(s.message || "cancelled");
}

async function runTrial() {
  const path = $("trial-file").value;
  $("trial-status").textContent = "running the behaviour trial (this takes a while)…";
  let job;
  try { job = await api("/api/trials", {path, size: Number($("trial-size").value)}); }
  catch (e) { $("trial-status").textContent = e.message; return; }
  const tick = async () => {
    const s = await api(`/api/jobs/${job.id}`);
    if (s.state === "running") { setTimeout(tick, 500); return; }
    if (s.state !== "done") { $("trial-status").textContent = s.message || s.state; return; }
    $("trial-status").textContent = `${s.result.name}: ${s.result.size} patients, ${s.result.days} days`;
    drawKM(s.result);
  };
  tick();
}

function drawKM(result) {
  const root = $("trial-plots");
  root.innerHTML = "<h3>Behaviour trial: Kaplan–Meier</h3>";
  Object.entries(result.km).forEach(([name, curves], k) => {
    const div = document.createElement("div");
    div.className = "plot";
    div.id = `km-${k}`;
    root.appendChild(div);
    const traces = Object.entries(curves).map(([arm, rows], i) => ({
      x: rows.map((r) => r[0]), y: rows.map((r) => r[1]), name: arm, line: {shape: "hv", color: COLORS[i % COLORS.length]},
    }));
    Plotly.newPlot(div, traces, {title: {text: name, font: {size: 13}}, xaxis: {title: {text: "day"}},
      yaxis: {title: {text: "event-free fraction"}, range: [0, 1.02]}, margin: {l: 55, r: 10, t: 32, b: 36},
      template: "plotly_white"}, {displaylogo: false, responsive: true});
  });
}

async function waitForWorker() {
  const m = await api("/api/meta");
  $("worker").textContent = m.ready ? "worker ready" : "starting the simulation worker (first start compiles the model)…";
  if (!m.ready) setTimeout(waitForWorker, 1000);
}

async function init() {
  META = await api("/api/meta");
  $("model-info").textContent = `${META.model.states} states, ${META.model.parameters} parameters`;
  $("drug-list").innerHTML = Object.entries(META.drugs)
    .map(([d, r]) => `<li><code>${d}</code>: ${r.join(", ")}</li>`).join("");
  $("phenotypes").innerHTML = META.phenotypes.map((p) =>
    `<label>${p.replaceAll("_", " ")} <select data-name="${p}"><option value="">as in the population</option>` +
    `<option value="1">everyone</option><option value="0">no one</option></select></label>`).join("<br>");
  if (!META.patient) { $("pop-patient").disabled = true; $("pop-patient").parentElement.title = "start with --patient"; }
  document.querySelectorAll("input[name=pop]").forEach((r) => r.addEventListener("change", () => {
    $("phenotypes").classList.toggle("hidden", r.value !== "phenotype" || !r.checked);
  }));
  $("trial-file").innerHTML = META.trials.map((t) => `<option value="${t}">${t.split("/").pop()}</option>`).join("");
  if (!META.trials.length) $("run-trial").disabled = true;
  addArm("buprenorphine", META.examples[0]);
  $("add-arm").addEventListener("click", () => addArm(`regimen ${document.querySelectorAll(".arm").length + 1}`,
                                                       META.examples[1]));
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", cancel);
  $("run-trial").addEventListener("click", runTrial);
  waitForWorker();
}

init();
