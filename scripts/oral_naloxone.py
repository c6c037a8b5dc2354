"""Oral (prolonged-release) naloxone: systemic exposure, central and enteric antagonism (fifteenth session).

Prints, for the typical patient (no between-patient variability):

1. Single PR tablets (5–120 mg) against 1 mg IV: Cmax, AUC(0–72 h) and the absolute bioavailability
   (AUC ratio), Smith et al.'s protocol (Int J Clin Pharmacol Ther 2012, doi:10.5414/CP201646: F 0.9% at
   5 mg to 2% at 40–120 mg on AUC(t), 1.9–2.2% on AUC(inf) for 20–120 mg, linear).
2. The IV dose–occupancy check behind the central naloxone constant: plasma naloxone and μ occupancy
   45–65 min after 0.0005–0.03 mg/kg IV (PET: Villemagne 1994, Kim 1997, Mayberg & Frost 1990, as
   tabulated by Trøstheim et al., Neuropsychopharmacology 2022, table 1).
3. Oxycodone PR bid with and without naloxone PR bid, week 4: steady-state plasma naloxone (last dosing
   interval), naloxone's central and enteric occupancy, oxycodone's central occupancy, central and enteric
   μ agonism, analgesic relief, BFI and SBM/week — at OXN 40/20 (the pred.gut.oxycodone_naloxone_pr
   protocol), 20/10, 10/5 and at 20/20 (the 1:1 ratio of Meissner et al., Eur J Pain 2009;13:56: no loss
   of analgesia with naloxone 10–40 mg/day on oxycodone 40–80 mg/day).
4. Gan et al., Anesthesiology 1997;87:1075 in the model: steady IV morphine 2.5 mg/h with IV naloxone
   0.25, 0.48 (the systemic input of OXN 40/20 bid: 2% of 40 mg/day) and 1 µg/kg/h; the morphine rate that
   restores the placebo arm's central agonism (the model's dose ratio). Gan: PCA morphine over 24 h 59.1 ±
   27.4 mg (placebo), 42.3 ± 24.1 (0.25 µg/kg/h), 64.7 ± 33.0 (1 µg/kg/h), pain scores not different.

    PYTHONPATH=src python scripts/oral_naloxone.py
"""
from __future__ import annotations

import numpy as np

from opiaxis.validate.targets_pk import typical_patient


def single_doses() -> None:
    t = np.arange(0.0, 72.0 + 1e-9, 0.05)
    iv = typical_patient(["naloxone 1 mg IV once at 0 h"], t).get("naloxone_plasma")[0]
    auc_iv = float(np.trapezoid(iv, t))
    print(f"1. IV 1 mg: AUC0-72 {auc_iv:.2f} ng.h/mL")
    for dose in (5, 20, 40, 120):
        c = typical_patient([f"naloxone {dose} mg oral ER once at 0 h"], t).get("naloxone_plasma")[0]
        auc = float(np.trapezoid(c, t))
        print(f"   PR {dose:>3} mg: Cmax {c.max():.3f} ng/mL at {t[np.argmax(c)]:.2f} h, AUC0-72 {auc:.2f} ng.h/mL, "
              f"F {100 * auc / (dose * auc_iv):.2f}%")


def pet_check() -> None:
    t = np.arange(0.0, 1.5 + 1e-9, 1 / 60)
    sel = (t >= 45 / 60) & (t <= 65 / 60)
    print("2. IV naloxone, 45–65 min (PET: 0.0005 mg/kg 20%, 0.001 40/19%, 0.002 43%, 0.005 75%, 0.01 65–100%, 0.03 81%)")
    for mgkg in (0.0005, 0.001, 0.002, 0.005, 0.01, 0.03):
        r = typical_patient([f"naloxone {mgkg * 70:g} mg IV once at 0 h"], t)
        print(f"   {mgkg:g} mg/kg: plasma {r.get('naloxone_plasma')[0][sel].mean():.3f} ng/mL, "
              f"occupancy {r.get('mor_occupancy_naloxone')[0][sel].mean():.3f}")


def _week4(regs: list[str]) -> dict:
    t = np.arange(0.0, 28 * 24.0 + 1e-9, 0.25)
    r = typical_patient(regs, t)
    w4, last = (t >= 21 * 24) & (t <= 28 * 24), (t >= 27 * 24) & (t <= 27 * 24 + 12)
    c = r.get("naloxone_plasma")[0]
    out = {"Cmax": c[last].max(), "Cmin": c[last].min(), "Cavg": c[last].mean()}
    for key, name in (("nlx central occ", "mor_occupancy_naloxone"), ("nlx enteric occ", "mor_enteric_occupancy_naloxone"),
                      ("oxy central occ", "mor_occupancy_oxycodone"), ("central agonism", "mor_agonism_central"),
                      ("enteric agonism", "mor_enteric_agonism"), ("relief", "analgesia_fraction"),
                      ("BFI", "bowel_function_index"), ("SBM/week", "sbm_rate")):
        out[key] = float(r.get(name)[0][w4].mean())
    return out


def oxn_arms() -> None:
    print("3. OXY PR bid vs OXN PR bid, week 4 (typical patient)")
    for oxy, nlx in ((40, 20), (20, 10), (10, 5), (20, 20)):
        a = _week4([f"oxycodone {oxy} mg oral ER bid for 28 d"])
        b = _week4([f"oxycodone {oxy} mg oral ER bid for 28 d", f"naloxone {nlx} mg oral ER bid for 28 d"])
        print(f"   {oxy}/{nlx}: naloxone ss Cmax {b['Cmax']:.3f}, Cmin {b['Cmin']:.3f}, Cavg {b['Cavg']:.3f} ng/mL; "
              f"naloxone occupancy central {b['nlx central occ']:.3f}, enteric {b['nlx enteric occ']:.3f}; oxycodone "
              f"central occupancy {a['oxy central occ']:.3f} -> {b['oxy central occ']:.3f}")
        print(f"      central agonism {a['central agonism']:.3f} -> {b['central agonism']:.3f}, enteric "
              f"{a['enteric agonism']:.3f} -> {b['enteric agonism']:.3f}; relief {a['relief']:.3f} -> {b['relief']:.3f} "
              f"(ratio {b['relief'] / a['relief']:.3f}); BFI {a['BFI']:.1f} -> {b['BFI']:.1f}; "
              f"SBM {a['SBM/week']:.2f} -> {b['SBM/week']:.2f}")


def _infusion(morphine: float, naloxone: float) -> tuple[float, float, float]:
    t = np.arange(0.0, 24.0 + 1e-9, 0.1)
    regs = [f"morphine infusion at {morphine:g} mg/h IV for 24 h"]
    if naloxone:
        regs.append(f"naloxone infusion at {naloxone:g} mg/h IV for 24 h")
    r = typical_patient(regs, t)
    w = t >= 12
    return tuple(float(r.get(n)[0][w].mean()) for n in ("mor_agonism_central", "analgesia_fraction", "naloxone_plasma"))


def gan_check() -> None:
    base = _infusion(2.5, 0.0)
    print(f"4. morphine 2.5 mg/h IV, h 12–24: central agonism {base[0]:.3f}, relief {base[1]:.3f}")
    for ug in (0.25, 0.48, 1.0):
        rate = ug * 70 / 1000
        a = _infusion(2.5, rate)
        lo, hi = 2.5, 20.0
        for _ in range(14):
            mid = (lo * hi) ** 0.5
            lo, hi = (mid, hi) if _infusion(mid, rate)[0] < base[0] else (lo, mid)
        print(f"   naloxone {ug} µg/kg/h: plasma {a[2]:.3f} ng/mL, agonism {a[0]:.3f}, relief ratio "
              f"{a[1] / base[1]:.3f}; dose ratio to restore agonism {(lo * hi) ** 0.5 / 2.5:.2f}")


if __name__ == "__main__":
    single_doses()
    pet_check()
    oxn_arms()
    gan_check()
