"""The mood drive on methadone and buprenorphine, term by term (fifteenth session; docs/validation.md, "The course
of depression on methadone and buprenorphine").

pred.mood.oat_depression_course's protocol (n = 24 paired, seed of targets_mood; 12 weeks of heroin 20/40/80 mg IV
q8h, then methadone 80 mg/day or buprenorphine 16 mg/day for 24 weeks). Prints, for the last heroin day and weeks 1,
4, 12 and 24 of each arm, each term of the mood drive (mood.py) averaged over the 24 h before the read (every 15 min),
the inputs of the dynorphin equation (endogenous.py) and of the HPA drive (hpa.py), and then each patient's latent
mood state every 4 weeks.

    PYTHONPATH=src python scripts/oat_mood_terms.py [N]
"""
from __future__ import annotations

import sys

import numpy as np

from opiaxis.dosing import EventTable
from opiaxis.engine import simulate
from opiaxis.models import default_model
from opiaxis.validate.targets_adaptation import ENTRY
from opiaxis.validate.targets_predictions_seeds2 import oat_cohort

ARMS = (("methadone", "methadone 80 mg oral daily"), ("buprenorphine", "buprenorphine 16 mg SL daily"))
SHOWN = ("mor_agonism_central", "tolerance_level", "withdrawal_signal", "unopposed_counteradaptation",
         "dynorphin_tone", "cortisol_rel", "il6_plasma", "hpa_opioid_tolerance", "hpa_drive", "adrenal_mass",
         "mood_state", "madrs")


def _terms(r, P, pi) -> dict:
    """The mood drive's terms (mood.py, same equations) and the dynorphin inputs, shape (patients, times)."""
    g = r.get

    def par(k):
        return P[:, pi[k]][:, None]
    mocc, ago, tol = g("mor_occupancy_central"), g("mor_agonism_central"), g("tolerance_level")
    mp = np.maximum(g("mood_state"), 0)
    q = {
        "trait": np.broadcast_to(par("mood_trait_offset") + par("mood_weight_history") * par("depression_history")
                                 + par("mood_weight_adversity") * par("early_life_adversity")
                                 + par("mood_weight_social_support") * (0.5 - par("social_support")), mocc.shape),
        "IL-6": par("mood_weight_il6") * np.log(g("il6_plasma") / par("mood_il6_reference")),
        "central cytokines": par("mood_weight_central_cytokines") * np.log(g("central_cytokines_rel")),
        "cortisol": par("mood_weight_cortisol") * (g("cortisol_rel") - 1),
        # not model terms: the cortisol term's two alternative forms on the same trajectories (first order, no
        # feedback; docs/validation.md, "Mood's cortisol term: only cortisol above normal?"): excess only (the
        # smooth positive part of adaptation.py's _positive_part, width 0.05 fixed beforehand) and any departure from
        # normal (|cortisol_rel - 1|)
        "alt: cortisol excess only": par("mood_weight_cortisol") * _pos(g("cortisol_rel") - 1, 0.05),
        "alt: cortisol |departure|": par("mood_weight_cortisol") * np.abs(g("cortisol_rel") - 1),
        "mu endogenous": -par("mood_weight_mu") * (g("mor_endogenous_signal")
                                                   - par("mood_mu_rest") * (1 - np.maximum(mocc - ago, 0))),
        "mu drug": -par("mood_weight_mu") * ago * (1 - tol),
        "kappa": par("mood_weight_kappa") * g("kappa_mood_signal"),
        "delta": -par("mood_weight_delta") * (g("dor_endogenous_agonism")
                                              - par("mood_delta_rest") * (1 - g("dor_occupancy"))),
        "NOP": par("mood_weight_nop") * (g("nop_endogenous_agonism") - par("mood_nop_rest") * (1 - g("nop_occupancy"))),
        "withdrawal": par("mood_weight_withdrawal") * g("withdrawal_signal"),
        "DRIVE (model)": g("mood_drive"),
        "dyn: stress": par("dynorphin_stress_gain") * g("endo_stress_drive"),
        "dyn: tolerance": par("dynorphin_tolerance_gain") * tol,
        "dyn: withdrawal": par("dynorphin_withdrawal_gain") * g("withdrawal_signal"),
        "dyn: depression": par("dynorphin_depression_gain") * mp ** 2 / (mp + 0.02),
    }
    q.update({k: g(k) for k in SHOWN})
    return q


def _pos(d, delta):
    """adaptation._positive_part in numpy: exactly 0 at d = 0, >= 0, ~d for d >> delta."""
    return (d + np.sqrt(d ** 2 + delta ** 2)) / 2 * d ** 2 / (d ** 2 + delta ** 2)


def _window(t_read: float) -> np.ndarray:
    return np.arange(t_read - 24.0, t_read + 1e-9, 0.25)


def main(n: int = 24) -> None:
    model = default_model()
    pi = model.param_index
    ids, P, heroin, by = oat_cohort(model, n)
    t_in = ENTRY - 1.0
    w0 = _window(t_in)
    r0 = simulate(model, P, np.concatenate([[0.0], w0]), heroin.expanded(), ids=ids)
    cols = {"heroin": {k: float(v[:, 1:].mean()) for k, v in _terms(r0, P, pi).items()}}
    weeks = (1, 4, 12, 24)
    states = {}
    for arm, reg in ARMS:
        ev = EventTable.from_regimens(model, f"{reg} for 24 w", start=ENTRY).for_ids(ids).expanded()
        wins = [_window(ENTRY + w * 168.0 - 1.0) for w in weeks]
        marks = [ENTRY + w * 168.0 - 1.0 for w in range(4, 25, 4)]
        times = np.unique(np.concatenate([[t_in]] + wins + [marks]))
        r = simulate(model, P, times, ev, ids=ids, t0=t_in, x0=r0.states[:, -1, :])
        q = _terms(r, P, pi)
        for w, win in zip(weeks, wins):
            sel = np.isin(times, win)
            cols[f"{arm[:4]} w{w}"] = {k: float(v[:, sel].mean()) for k, v in q.items()}
        states[arm] = r.get("mood_state")[:, np.isin(times, [t_in] + marks)]
    print("term".ljust(30) + "".join(c.rjust(12) for c in cols))
    for k in cols["heroin"]:
        print(k.ljust(30) + "".join(f"{cols[c][k]:12.4f}" for c in cols))
    print("\nlatent mood state, entry and every 4 weeks (patient, heroin dose, depression history)")
    for i in range(n):
        hist = int(P[i, pi["depression_history"]])
        print(f"{i + 1:3d} {by[i]:3d} mg {hist}  " + "  ".join(
            arm[:4] + " " + " ".join(f"{x:5.2f}" for x in states[arm][i]) for arm, _ in ARMS))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 24)
