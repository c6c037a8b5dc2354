"""PK and receptor-occupancy targets (targets.md, first table)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from ..engine import Results, simulate
from ..models import default_model
from ..dosing import EventTable
from .registry import target


def typical_patient(regimens: list[str], times, overrides: dict | None = None, model=None) -> Results:
    """One typical patient (no between-patient variability) on the given regimens."""
    model = model or default_model()
    regimen = EventTable.from_regimens(model, regimens)
    doses = regimen.for_ids([1]).expanded() if len(regimen) else None
    P = model.default_parameters()
    for k, v in (overrides or {}).items():
        P[model.param_index[k]] = v
    return simulate(model, P[None, :], np.asarray(times, float), doses, ids=[1])


def terminal_half_life(t, c, t_from, t_to) -> float:
    sel = (t >= t_from) & (t <= t_to) & (c > 0)
    slope = np.polyfit(t[sel], np.log(c[sel]), 1)[0]
    return float(np.log(2) / -slope)


def auc_inf(t, c, lam) -> float:
    return float(np.trapezoid(c, t) + c[-1] / lam)


def inside(v, lo, hi) -> bool:
    return bool(lo <= v <= hi)


# ----------------------------------------------------------------------------------------------
@target("occ.bup.greenwald2003",
        finding="whole-brain μOR availability falls 41±8%, 80±2%, 84±2% at buprenorphine 2, 16, 32 mg/day "
                "(SL, steady state, ~4 h post-dose); peak plasma BUP 0.5–1, 5–6, 13–14 ng/mL",
        band="reduction 33–49%, 76–84%, 80–88%; peak plasma inside the published ranges ±25%",
        source="Greenwald et al., Neuropsychopharmacology 2003;28:2000",
        calibration="peak plasma: SL bioavailability and its dose exponent were fitted to these peaks "
                    "(opiaxis calibrate occupancy.buprenorphine; history in data/calibration.yaml); the availability reductions are predictions")
def _greenwald():
    bands_red = {2: (33, 49), 16: (76, 84), 32: (80, 88)}
    bands_cp = {2: (0.5 * 0.75, 1.0 * 1.25), 16: (5 * 0.75, 6 * 1.25), 32: (13 * 0.75, 14 * 1.25)}
    day = 14
    t0 = (day - 1) * 24.0
    times = np.concatenate([np.arange(0, t0, 1.0), t0 + np.arange(0, 24.01, 0.05)])
    value, ok, notes = {}, True, []
    for dose in (2, 16, 32):
        r = typical_patient([f"buprenorphine {dose} mg SL q24h for {day} d"], times)
        t = r.times
        red = 100 * (1 - r.get("mor_availability_pet")[0][np.argmin(abs(t - (t0 + 4)))])
        cp = r.get("buprenorphine_plasma")[0]
        peak = float(cp[t >= t0].max())
        value[f"{dose} mg reduction %"] = red
        value[f"{dose} mg peak ng/mL"] = peak
        for what, v, (lo, hi) in (("reduction", red, bands_red[dose]), ("peak", peak, bands_cp[dose])):
            if not inside(v, lo, hi):
                ok = False
                notes.append(f"{dose} mg {what} {v:.3g} outside {lo:g}–{hi:g}")
    return value, ok, "; ".join(notes) or "all six inside their bands"


# whole-brain μOR availability (%) 4, 28, 52, 76 h after omitting the 16 mg/d dose (Greenwald et al., Biol Psychiatry
# 2007;61:101, abstract)
GREENWALD_2007 = {4: 30, 28: 54, 52: 67, 76: 82}


@target("occ.bup.thresholds",
        finding="withdrawal suppression needs ≤50% μOR availability (trough BUP ≥1 ng/mL, ~4 mg/d); blockade of "
                "other opioids needs <20% availability (trough ≥3 ng/mL, >16 mg/d)",
        band="both relations hold at steady state",
        source="Greenwald, Comer & Fiellin, Drug Alcohol Depend 2014;144:1")
def _thresholds():
    doses = [1, 2, 4, 8, 12, 16, 24, 32]
    day = 14
    times = np.array([day * 24.0])  # trough: 24 h after the last of 14 daily doses
    trough, avail = {}, {}
    for d in doses:
        r = typical_patient([f"buprenorphine {d} mg SL q24h for {day} d"], times)
        trough[d] = float(r.get("buprenorphine_plasma")[0, -1])
        avail[d] = float(r.get("mor_availability_pet")[0, -1])
    # relation 1: availability <= 50% exactly when trough >= 1 ng/mL, first reached near 4 mg/d
    agree1 = all((avail[d] <= 0.5) == (trough[d] >= 1.0) for d in doses)
    first50 = next((d for d in doses if avail[d] <= 0.5), None)
    rel1 = agree1 and first50 is not None and 2 <= first50 <= 8
    # relation 2: availability < 20% only above 16 mg/d and only with trough >= 3 ng/mL, and reached
    below20 = [d for d in doses if avail[d] < 0.2]
    rel2 = bool(below20) and all(d > 16 and trough[d] >= 3.0 for d in below20)
    value = {"first dose with availability ≤50% (mg/d)": first50,
             "doses with availability <20%": below20,
             **{f"{d} mg trough ng/mL": trough[d] for d in (4, 16, 32)},
             **{f"{d} mg trough availability %": 100 * avail[d] for d in (4, 16, 32)}}
    # not scored: the trough concentration at which availability crosses 50% (log-linear between doses), to set
    # the review's concentration threshold (1 ng/mL) apart from its dose mapping (~4 mg/d)
    k = next((i for i, d in enumerate(doses) if avail[d] <= 0.5), None)
    if k:
        lo, hi = doses[k - 1], doses[k]
        w = (avail[lo] - 0.5) / (avail[lo] - avail[hi])
        value["trough ng/mL where availability crosses 50% (review: 1)"] = float(
            np.exp(np.log(trough[lo]) + w * (np.log(trough[hi]) - np.log(trough[lo]))))
    # not scored: the primary data behind the review's relations (16 mg/d, scans after the omitted dose)
    t0 = (day - 1) * 24.0
    hours = sorted(GREENWALD_2007)
    r = typical_patient([f"buprenorphine 16 mg SL q24h for {day} d"], [t0 + h for h in hours])
    for h, a in zip(hours, r.get("mor_availability_pet")[0]):
        value[f"16 mg, {h} h after the last dose: availability % (Greenwald 2007: {GREENWALD_2007[h]})"] = 100 * float(a)
    detail = (f"relation 1 (≤50% ⇔ trough ≥1 ng/mL; first at 2–8 mg): {'holds' if rel1 else 'fails'}; "
              f"relation 2 (<20% only >16 mg/d with trough ≥3 ng/mL, and reached): {'holds' if rel2 else 'fails'}. "
              "The concentration side of relation 1 holds (availability crosses 50% near a trough of 0.7 ng/mL; "
              "Nasser 2014's Emax relation, 91.4%·C/(0.67 + C), gives 0.81), the dose side cannot: Greenwald 2003's "
              "peaks, which the model reproduces, put the 4 mg/d trough near 0.3 ng/mL, and Greenwald 2007's own "
              "scans (availability 30/54/67/82% at 4/28/52/76 h after 16 mg/d) put trough availability near 50% at "
              "16 mg/d, not 4 mg/d. Relation 2: <20% availability at trough needs ~4.3 ng/mL in the model (Nasser: "
              "4.7), a trough first reached above 48 mg/d; Greenwald 2003's 16% at 32 mg is ~4 h after the dose "
              "(model 15.9%), not at trough")
    return value, rel1 and rel2, detail


@target("occ.ntx.oral",
        finding="oral naltrexone μOR blockade within 8 h: 2 mg 27%, 5 mg 43–58%, 15 mg 61%, 50 mg 92–98%",
        band="each within ±10 points (5 mg: 38–63%)",
        source="Rabiner 2011, tabulated in Neuropsychopharmacology 2022, doi:10.1038/s41386-022-01416-z",
        calibration="naltrexone's apparent μ dissociation constant was fitted to these four blockade values "
                    "(opiaxis calibrate occupancy.naltrexone; history in data/calibration.yaml)")
def _ntx():
    bands = {2: (17, 37), 5: (38, 63), 15: (51, 71), 50: (82, 100)}
    times = np.arange(0, 8.001, 0.05)
    value, ok, notes = {}, True, []
    for d, (lo, hi) in bands.items():
        r = typical_patient([f"naltrexone {d} mg oral once"], times)
        block = 100 * float((1 - r.get("mor_availability_pet")[0]).max())
        value[f"{d} mg blockade %"] = block
        if not inside(block, lo, hi):
            ok = False
            notes.append(f"{d} mg {block:.3g}% outside {lo}–{hi}%")
    return value, ok, "peak PET blockade within 8 h of one oral dose; " + ("; ".join(notes) or "all inside")


@target("pk.morphine",
        finding="IV morphine t½ 2.2±1.0 h, CL 1584±408 mL/min, Vd 276±72 L; M3G t½ 15.2 h, M6G t½ 2.5 h",
        band="typical values within the ±SD (t½ 1.2–3.2 h, CL 1176–1992 mL/min, Vd 204–348 L); "
             "metabolite t½ (no SD published) scored within ±25%",
        source="Br J Clin Pharmacol 2000;49:207; PMC2014461")
def _morphine():
    times = np.arange(0, 96.001, 0.05)
    r = typical_patient(["morphine 10 mg IV once"], times)
    t = r.times
    c = r.get("morphine_plasma")[0]
    th = terminal_half_life(t, c, 6, 24)
    lam = np.log(2) / th
    cl_ml_min = 10.0 / auc_inf(t, c / 1000.0, lam) * 1000 / 60  # dose mg / (mg·h/L) -> L/h -> mL/min
    vz = cl_ml_min * 60 / 1000 / lam
    m3g = terminal_half_life(t, r.get("m3g_plasma")[0], 48, 96)
    m6g = terminal_half_life(t, r.get("m6g_plasma")[0], 12, 30)
    value = {"t½ h": th, "CL mL/min": cl_ml_min, "Vz L": vz, "M3G t½ h": m3g, "M6G t½ h": m6g}
    checks = [("t½", th, 1.2, 3.2), ("CL", cl_ml_min, 1176, 1992), ("Vz", vz, 204, 348),
              ("M3G t½", m3g, 15.2 * 0.75, 15.2 * 1.25), ("M6G t½", m6g, 2.5 * 0.75, 2.5 * 1.25)]
    bad = [f"{n} {v:.3g} outside {lo:g}–{hi:g}" for n, v, lo, hi in checks if not inside(v, lo, hi)]
    return value, not bad, "; ".join(bad) or "all inside"


@target("pk.heroin",
        finding="heroin terminal t½ 7.6 min, 6-MAM 21.8 min; morphine CL 73.6 L/h (heroin-dependent patients)",
        band="±30% (heroin 5.3–9.9 min, 6-MAM 15.3–28.3 min, morphine CL 51.5–95.7 L/h)",
        source="Rook et al., Clin Pharmacokinet 2006;45:401")
def _heroin():
    model = default_model()
    times = np.arange(0, 48.001, 1 / 120)
    dose = 200.0
    r = typical_patient([f"heroin {dose:g} mg IV once"], times, model=model)
    t = r.times
    th_h = 60 * terminal_half_life(t, r.get("heroin_plasma")[0], 0.25, 0.75)
    th_m = 60 * terminal_half_life(t, r.get("mam6_plasma")[0], 1.5, 3.0)
    P = model.default_parameters()
    par = lambda n: P[model.param_index[n]]  # noqa: E731
    morphine_formed = dose * par("heroin_to_mam6_fraction") * par("mam6_to_morphine_fraction") * \
        par("morphine_mw") / par("heroin_mw")
    cm = r.get("morphine_plasma")[0] / 1000.0  # mg/L
    lam = np.log(2) / terminal_half_life(t, cm, 8, 24)
    cl = morphine_formed / auc_inf(t, cm, lam)
    value = {"heroin t½ min": th_h, "6-MAM t½ min": th_m, "morphine CL L/h": cl}
    checks = [("heroin t½", th_h, 7.6 * 0.7, 7.6 * 1.3), ("6-MAM t½", th_m, 21.8 * 0.7, 21.8 * 1.3),
              ("morphine CL", cl, 73.6 * 0.7, 73.6 * 1.3)]
    bad = [f"{n} {v:.3g} outside {lo:.3g}–{hi:.3g}" for n, v, lo, hi in checks if not inside(v, lo, hi)]
    return value, not bad, "IV heroin 200 mg, typical patient; " + ("; ".join(bad) or "all inside")


@target("pk.fentanyl",
        finding="IV fentanyl 3-compartment: V1 12.1, V2 35.7, V3 224 L; CL 0.632, 2.8, 1.55 L/min",
        band="exact parameterisation or ±20% on simulated concentrations",
        source="Scott & Stanski, JPET 1987;240:159")
def _fentanyl():
    times = np.concatenate([np.arange(2, 60, 1) / 60, np.arange(1, 12.01, 0.25)])
    dose = 0.1  # mg
    r = typical_patient([f"fentanyl {dose * 1000:g} ug IV once"], times)
    sim = r.get("fentanyl_plasma")[0]
    # the published model, solved independently (matrix exponential of the linear system, per minute)
    V1, V2, V3, CL1, CL2, CL3 = 12.1, 35.7, 224.0, 0.632, 2.8, 1.55
    K = np.array([[-(CL1 + CL2 + CL3) / V1, CL2 / V2, CL3 / V3],
                  [CL2 / V1, -CL2 / V2, 0.0],
                  [CL3 / V1, 0.0, -CL3 / V3]])
    ref = np.array([(expm(K * t * 60) @ np.array([dose, 0, 0]))[0] / V1 * 1000 for t in times])  # ng/mL
    dev = float(np.max(np.abs(sim / ref - 1)))
    return {"max relative deviation": dev, "C(5 min) ng/mL": float(sim[3]), "C(1 h) ng/mL": float(sim[np.argmin(abs(times - 1))])}, \
        dev <= 0.20, "100 µg IV bolus; simulated vs the published 3-compartment model from 2 min to 12 h"


# ----------------------------------------------------------------------------------------------
LEE_TIMES = (1.0, 48.0, 72.0, 120.0, 168.0)


@target("occ.ntx.duration",
        finding="one oral dose of naltrexone 50 mg: brain μOR blockade falls with a half-time of 72–108 h; blockade is "
                "still substantial at 72 h (naltrexone and 6β-naltrexol together)",
        band="half-time of blockade 60–120 h",
        source="Lee et al., J Nucl Med 1988;29:1207")
def _ntx_duration():
    times = np.arange(0, 168.01, 0.5)
    r = typical_patient(["naltrexone 50 mg oral once"], times)
    block = 1 - r.get("mor_availability_pet")[0]
    at = {h: float(block[np.argmin(abs(times - h))]) for h in LEE_TIMES}
    th = terminal_half_life(np.array(list(at)), np.array(list(at.values())), 0.0, 168.0)
    value = {"half-time of blockade h": th, **{f"blockade % at {h:g} h": 100 * b for h, b in at.items()}}
    i72 = int(np.argmin(abs(times - 72)))
    value["72 h: by naltrexone %"] = 100 * float(r.get("mor_occupancy_naltrexone")[0, i72])
    value["72 h: by 6β-naltrexol %"] = 100 * float(r.get("mor_occupancy_naltrexol6b")[0, i72])
    i120 = int(np.argmin(abs(times - 120)))
    nol = r.get("naltrexol6b_plasma")[0]
    value["120 h: by 6β-naltrexol %"] = 100 * float(r.get("mor_occupancy_naltrexol6b")[0, i120])
    value["120 h: plasma 6β-naltrexol, % of its peak"] = 100 * float(nol[i120] / nol.max())
    return value, bool(60 <= th <= 120), NTX_DURATION_NOTE


NTX_DURATION_NOTE = (
    "typical patient, [11C]carfentanil blockade at Lee's scan times (1, 48, 72, 120, 168 h), log-linear half-time. "
    "Mechanism: two antagonists reach the brain at different speeds. Naltrexone enters fast (ke0 2/h) and binds at "
    "equilibrium with the constant fitted to Rabiner's ≤8-h dose–blockade curve (occ.ntx.oral); it gives the early, "
    "near-saturated blockade and is gone within 2 days (plasma t½ 4–10 h). 6β-naltrexol (plasma t½ 13 h, Kp,uu 0.1) "
    "exchanges slowly across the blood-brain barrier (brain t½ ~69 h, naltrexol6b_ke0 0.01/h): it fills the brain over "
    "the first 1–2 days and leaves it over the next week, long after plasma naltrexol has gone (≤1% of its peak by "
    "120 h), so it carries the days-long tail. The exchange rate is not fitted to Lee: it is bounded by Yancey-Wrona "
    "2011 (20 mg IV naltrexol, no effect on morphine analgesia or miosis: the mouse-derived 0.12/h of Porter 2002 would "
    "block ~40–60% of central μ within 2–6 h) and every rate from 0.002 to 0.015/h gives a half-time of 68–88 h; "
    "naltrexone's constant was re-fitted to occ.ntx.oral afterwards (0.531 → 0.520 ng/mL). Not reproduced: the levels. "
    "Blockade at 48 and 72 h is ~40%, where Lee's abstract (plasma levels 'in excess of that needed to saturate' "
    "receptors) suggests more; Lee's per-scan values were not read. Rejected alternatives: a 96-h plasma terminal "
    "phase of naltrexone (Lee's own reading) would have to carry ~45% of naltrexone's AUC to keep C/K ≈ 0.15 at "
    "168 h at this constant, against an 8.9-h oral terminal t½ measured to 72 h (Wall et al., Drug Metab Dispos "
    "1981;9:369); "
    "slow naltrexone dissociation makes the ≤8-h blockade exponential in dose, 1 − e^(−a·dose), so Rabiner's 27% at "
    "2 mg puts 15 mg at 91% (band 51–71%); no in-vivo koff of naltrexone or human naltrexol brain-exchange rate was "
    "found. Eleventh session: with its constant re-fitted, kinetic naltrexone keeps Rabiner's four doses in band down "
    "to koff ≈ 0.2/h, where this target's levels barely move (50 mg: 81% at 1 h, 45/39% at 48/72 h; docs/validation.md, "
    "'Naltrexone's blockade, eleventh session'). The only other per-time human PET found (interim "
    "abstract, Clin Pharmacol Ther 2005;77:P26: [11C]carfentanil 3, 24, 72, 144 h after 12.5, 50 or 100 mg) found "
    "blockade at 72 h only after 50/100 mg and at 144 h only in one region; the model gives 13% (12.5 mg) and 38/55% "
    "(50/100 mg) at 72 h, 24/38% at 144 h, so it does not ask for higher levels either")


KIM_TIMES = (5 / 60, 2.0, 4.0, 8.0)  # h: Kim 1997 dual-detector scans after naloxone (24 h scan: no blockade left)
TROSTHEIM_NLX_ED50 = 0.00229  # mg/kg, IV naloxone blockade at ~55 min (Trøstheim 2022, pooled PET/dual-detector data)


@target("occ.nlx.clearance",
        finding="naloxone 2 mg IV: μOR occupancy clears with a half-time of 2.0±1.6 h",
        band="half-time 0.5–3.6 h; the same drug constants must still give IV naloxone's dose–occupancy curve 45–65 min "
             "after dosing (scored: within ±15 points of the pooled hyperbola, ED50 0.00229 mg/kg, at 0.001–0.03 mg/kg)",
        source="Kim et al., J Nucl Med 1997;38:1726; curve: Trøstheim et al., Neuropsychopharmacology 2022, "
               "doi:10.1038/s41386-022-01416-z")
def _nlx_clearance():
    times = np.arange(0, 8.001, 1 / 60)
    r = typical_patient(["naloxone 2 mg IV once"], times)
    occ = 1 - r.get("mor_availability_pet")[0]
    cp = r.get("naloxone_plasma")[0]
    at = [int(np.argmin(abs(times - h))) for h in KIM_TIMES]
    th = terminal_half_life(times[at], occ[at], 0.0, 8.0)
    th_plasma = terminal_half_life(times[at], cp[at], 0.0, 8.0)
    value = {"occupancy half-time h (Kim's scans)": th, "plasma half-time h (same times)": th_plasma,
             "brain/plasma clearance-time ratio (Kim: 3.4)": th / th_plasma,
             **{f"occupancy % at {h:g} h": 100 * float(occ[i]) for h, i in zip(KIM_TIMES, at)}}
    ok = 0.5 <= th <= 3.6
    bad = []
    w45 = (times >= 0.75) & (times <= 65 / 60)
    for dose_kg in (0.001, 0.002, 0.005, 0.01, 0.03):
        mg = dose_kg * 70
        rr = typical_patient([f"naloxone {mg:g} mg IV once"], times[times <= 1.2])
        o = 100 * float((1 - rr.get("mor_availability_pet")[0])[w45[times <= 1.2]].mean())
        ref = 100 * dose_kg / (dose_kg + TROSTHEIM_NLX_ED50)
        value[f"{dose_kg:g} mg/kg at 45–65 min %"] = o
        if abs(o - ref) > 15:
            ok = False
            bad.append(f"{dose_kg:g} mg/kg {o:.0f}% vs curve {ref:.0f}%")
    return value, ok, ("typical 70-kg patient; half-time fitted log-linearly to occupancy at Kim's scan times (5 min, "
                       "2, 4, 8 h; the 24-h scan, with no blockade left, cannot enter a log-linear fit); "
                       + ("; ".join(bad) if bad else "dose–occupancy curve inside ±15 points")
                       + ". Naloxone binds kinetically (Mann 2022: koff 143/h, so binding is never rate-limiting); "
                         "occupancy outlasts plasma because the effect-site concentration falls through a saturated "
                         "binding curve (Hill 0.86), which Kim's brain/plasma clearance-time ratio of 3.4 also shows")
