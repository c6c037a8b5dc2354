"""immune — circulating endotoxin, monocytes and plasma cytokines (TNF-α, IL-6, IL-10, IL-1β) and CRP.

Core: the human endotoxin-challenge model of Dobreva A, Brady-Nicholls R, Larripa K, Puelz C,
Mehlsen J, Olufsen MS. *A physiological model of the inflammatory-thermal-pain-cardiovascular
interactions during an endotoxin challenge.* J Physiol 2021;599:1459 (arXiv 1908.07611), with the
parameters of its published code (``willov/Inflammation-and-Cardiovascular-Dynamics``,
``load_pars_Init_Janum.m``; time in hours)::

    dPE/dt  = r_LPS − kpe·PE                                     endotoxin (ng/kg equivalent)
    dMR/dt  = kmr·MR·(1 − MR/mmax) − v2 ;   dMA/dt = v2 − kma·MA  resting / activated monocytes
    v2      = S·(sm + kmtnf'·H+(TNF; xmtnf, hmtnf))·H−(IL10; xm10, hm10)·MR·ρ(cortisol)
    dTNF/dt = ktnfm·MA·H−(IL10)·H−(IL6)·ρ − ktnf·(TNF − stnf·π)
    dIL10/dt= MA·(k10m + k106·H+(IL6)) − k10·(IL10 − s10)
    dIL6/dt = MA·(k6m + k6tnf·H+(TNF))·H−(IL6)·H−(IL10)·ρ − k6·(IL6 − s6·π)

with H+(x; K, h) = x^h/(x^h + K^h), H− = 1 − H+ and kmtnf' = kmtnf·xmtnf^hmtnf (as in the code).
The monocyte stimulus S generalises Dobreva's H+(PE) with the opioid and stress drives::

    S = H+(PE; xmpe) + e_TLR4·C/(C + K_TLR4) + g_wd·withdrawal_signal
    C = morphine + w_M3G·M3G + w_MTD·methadone                   (plasma, ng/mL)

* endotoxin: r_LPS = ``lps_translocation_rate`` (the gut module will provide it; its default is
  the basal translocation of a healthy gut, so the resting state carries a small tonic LPS drive).
* opioid TLR4/MD-2 signalling: morphine binds MD-2 and activates TLR4 independently of opioid
  receptors (Wang X et al., PNAS 2012;109:6325); M3G and methadone do too (Hutchinson MR et al.,
  Neuroscience 2010;167:880; Due MR et al., J Neuroinflammation 2012;9:200). No human kinetic
  affinity exists (model-anchors §4.4): K_TLR4 and e_TLR4 are calibrated (cyt.mmt).
* withdrawal stress (sympathetic activation, gut leak during withdrawal) activates monocytes
  (calibrated, cyt.withdrawal).
* cortisol restraint ρ(c) = (1 + K_c)/(K_c + c), = 1 at the healthy cortisol level, < 1 above it
  (glucocorticoid suppression of monocyte activation and cytokine transcription; the coupling of
  the ITIS model, Bangsgaard EO et al. 2017, and Windoloski KA et al. 2022).
* myeloid priming π = 1 + g_π·M ("trained immunity", Netea MG et al., Science 2016;352:aaf1098):
  dM/dt = k_on·(withdrawal_signal + C/(C+K_TLR4))·(1 − M) − k_off·M raises the constitutive
  production of TNF-α, IL-6 and IL-1β for weeks after exposure ends (persistent inflammation after
  12 weeks of abstinence, Folia Biol 2015;61:241). An assumption with calibrated rates.
* IL-1β (not in Dobreva): produced by activated monocytes, restrained by IL-10 and cortisol,
  cleared like TNF-α (assumed rates; human endotoxaemia IL-1β peaks are ≈1–2% of TNF-α peaks).
* CRP: hepatic synthesis driven by IL-6 through a transcription delay, plasma half-life ≈ 19 h
  whatever the level (Vigushin DM, Pepys MB, Hawkins PN, J Clin Invest 1993;91:1351; Pepys MB,
  Hirschfield GM, J Clin Invest 2003;111:1805).

The resting state (no drug, no withdrawal, cortisol at baseline, basal LPS) is computed at build
time so that a drug-free person does not drift. Dobreva's monocyte pool starts at its carrying
capacity region, not at 28 200 (the code's initial value, which drifts over ~1 week).
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import sympy as sp

from ..model.core import Module, lognormal

DOB = "Dobreva et al., J Physiol 2021 (code: willov/Inflammation-and-Cardiovascular-Dynamics, load_pars_Init_Janum.m)"


def hplus(x, k, h):
    """x^h/(x^h + k^h), written in the dimensionless ratio x/k."""
    r = (x / k) ** h
    return r / (r + 1)


def hminus(x, k, h):
    """k^h/(x^h + k^h)."""
    return 1 / ((x / k) ** h + 1)


def _inputs(m: Module) -> SimpleNamespace:
    """The drives from other modules: opioid plasma levels, withdrawal, cortisol and gut endotoxin."""
    return SimpleNamespace(
        morph=m.input("morphine_plasma", "ng/mL", 0.0, "pk module"),
        m3g=m.input("m3g_plasma", "ng/mL", 0.0, "pk module"),
        mtd=m.input("methadone_plasma", "ng/mL", 0.0, "pk module"),
        wd=m.input("withdrawal_signal", "dimensionless", 0.0, "adaptation module (0 when absent)"),
        cort=m.input("cortisol_rel", "dimensionless", 1.0, "hpa module (healthy baseline 1 when absent)"),
        r_lps=m.input("lps_translocation_rate", "ng/kg/h", 0.0027,
                      "gut module. Default: the basal translocation of a healthy gut, chosen so the tonic "
                      "circulating endotoxin equivalent (r/kpe ≈ 0.0025 ng/kg, 0.125% of a 2 ng/kg challenge) keeps "
                      "resting cytokines at Dobreva's measured baselines (+≈10–15%); healthy plasma endotoxin is near "
                      "the assay limit. The gut module's rate must include this basal flux."))


def _monocyte_parameters(P) -> dict:
    """Endotoxin clearance and monocyte regeneration and activation (Dobreva's kpe, kmr, mmax, kma,
    sm, kmtnf', xmpe, xm10, hm10, xmtnf, hmtnf)."""
    return dict(
        kpe=P("lps_clearance_rate", 1.08192, "1/h", DOB),
        kmr=P("monocyte_regeneration_rate", 0.006, "1/h", DOB),
        mmax=P("monocyte_capacity", 30000.0, "dimensionless", DOB + " (mmax, monocyte units)"),
        kma=P("monocyte_deactivation_rate", 2.51, "1/h", DOB),
        sm=P("monocyte_activation_rate", 0.0414, "1/h", DOB),
        kmtnf=P("monocyte_tnf_activation", 4.14e-6 * 100 ** 3.16, "1/h", DOB + " (kmtnf·xmtnf^hmtnf)"),
        xmpe=P("monocyte_lps_half", 3.3, "ng/kg", DOB),
        xm10=P("monocyte_il10_half", 4.3465, "pg/mL", DOB),
        hm10=P("monocyte_il10_hill", 0.3, "dimensionless", DOB),
        xmtnf=P("monocyte_tnf_half", 100.0, "pg/mL", DOB),
        hmtnf=P("monocyte_tnf_hill", 3.16, "dimensionless", DOB))


def _cytokine_parameters(P) -> dict:
    """Production, mutual regulation and clearance of TNF-α, IL-10 and IL-6 (Dobreva)."""
    return dict(
        ktnf=P("tnf_clearance_rate", 1.48728, "1/h", DOB),
        ktnfm=P("tnf_production_rate", 0.69712, "pg/mL/h", DOB + " (per monocyte unit)"),
        xtnf10=P("tnf_il10_half", 17.386, "pg/mL", DOB),
        htnf10=P("tnf_il10_hill", 3.0, "dimensionless", DOB),
        xtnf6=P("tnf_il6_half", 560.0, "pg/mL", DOB),
        htnf6=P("tnf_il6_hill", 2.0, "dimensionless", DOB),
        stnf=P("tnf_source", 1.118, "pg/mL", DOB + " (resting TNF-α)", variability=lognormal(0.4)),

        k10=P("il10_clearance_rate", 0.62293, "1/h", DOB),
        k10m=P("il10_production_rate", 0.0077847, "pg/mL/h", DOB),
        k106=P("il10_il6_production", 0.017, "pg/mL/h", DOB),
        x106=P("il10_il6_half", 560.0, "pg/mL", DOB),
        h106=P("il10_il6_hill", 3.675, "dimensionless", DOB),
        s10=P("il10_source", 0.2345, "pg/mL", DOB + " (resting IL-10)", variability=lognormal(0.4)),

        k6=P("il6_clearance_rate", 0.79658, "1/h", DOB),
        k6m=P("il6_production_rate", 0.51063, "pg/mL/h", DOB),
        k6tnf=P("il6_tnf_production", 0.81, "pg/mL/h", DOB),
        x6tnf=P("il6_tnf_half", 185.0, "pg/mL", DOB),
        h6tnf=P("il6_tnf_hill", 2.0, "dimensionless", DOB),
        x66=P("il6_il6_half", 560.0, "pg/mL", DOB),
        h66=P("il6_il6_hill", 1.0, "dimensionless", DOB),
        x610=P("il6_il10_half", 34.772, "pg/mL", DOB),
        h610=P("il6_il10_hill", 4.0, "dimensionless", DOB),
        s6=P("il6_source", 1.0475, "pg/mL", DOB + " (resting IL-6)", variability=lognormal(0.4)))


def _il1b_crp_parameters(P) -> dict:
    """IL-1β (not in Dobreva; assumed rates) and hepatic CRP (Vigushin 1993; Pepys & Hirschfield 2003)."""
    return dict(
        k1b=P("il1b_clearance_rate", 1.5, "1/h",
              "assumed: cleared like TNF-α (Dobreva ktnf ≈ 1.49 /h); plasma IL-1β half-life is tens of minutes"),
        k1bm=P("il1b_production_rate", 0.014, "pg/mL/h",
               "assumed: 2% of the TNF-α production per activated monocyte, so a 2 ng/kg endotoxin challenge gives "
               "IL-1β peaks ≈1–2% of TNF-α peaks as in human endotoxaemia"),
        s1b=P("il1b_source", 0.5, "pg/mL", "assumed: healthy plasma IL-1β ≈0.1–1 pg/mL (high-sensitivity assays)",
              variability=lognormal(0.5)),

        kcrp=P("crp_elimination_rate", 0.6931 / 19.0, "1/h",
               "Vigushin et al., J Clin Invest 1993;91:1351 (plasma CRP half-life ≈ 19 h, independent of level); "
               "Pepys & Hirschfield, J Clin Invest 2003;111:1805"),
        khep=P("crp_hepatic_delay_rate", 1 / 8.0, "1/h",
               "assumed: hepatocyte transcriptional delay ≈ 8 h (CRP starts rising ~6 h after a stimulus and peaks "
               "at ~48 h; Pepys & Hirschfield 2003)"),
        crp0=P("crp_baseline", 1.0, "mg/L",
               "assumed: healthy median plasma CRP ≈ 1 mg/L (Pepys & Hirschfield 2003: median 0.8 mg/L)",
               variability=lognormal(0.8)))


def _opioid_stress_parameters(P) -> dict:
    """Opioid TLR4/MD-2 agonism, withdrawal stress, cortisol restraint and myeloid priming."""
    return dict(
        e_tlr4=P("tlr4_opioid_efficacy", 0.02, "dimensionless",
                 "calibrated: efficacy of opioid TLR4/MD-2 signalling relative to full LPS-TLR4 activation of "
                 "monocytes (weak agonism, Wang et al. PNAS 2012); set so methadone maintenance raises IL-6 above "
                 "controls with a positive dose–response (cyt.mmt)", variability=lognormal(0.5)),
        k_tlr4=P("tlr4_opioid_K", 2000.0, "ng/mL",
                 "calibrated (model-anchors §4.4: no human affinity published): opioid concentration for "
                 "half-maximal TLR4 signalling; micromolar in cell assays (Hutchinson et al. 2010), so far above "
                 "plasma levels"),
        w_m3g=P("tlr4_m3g_weight", 1.0, "dimensionless",
                "assumed: M3G is as effective as morphine at TLR4 (Due et al. 2012; Hutchinson et al. 2010)"),
        w_mtd=P("tlr4_methadone_weight", 1.0, "dimensionless",
                "assumed: methadone activates TLR4 like morphine in the HEK-TLR4 assay (Hutchinson et al. 2010)"),
        g_wd=P("monocyte_withdrawal_gain", 0.012, "dimensionless",
               "calibrated: monocyte stimulus per unit withdrawal_signal (LPS-equivalent), set so IL-6 roughly "
               "doubles–triples and TNF-α rises ≈1 pg/mL at peak withdrawal (cyt.withdrawal; seed 000)",
               variability=lognormal(0.5)),
        kc=P("cortisol_restraint_K", 2.0, "dimensionless",
             "assumed: glucocorticoid restraint ρ = (1+K)/(K+cortisol_rel), a doubling of cortisol cuts activation "
             "and cytokine production by 25% (ITIS, Bangsgaard 2017; Windoloski 2022 use cortisol inhibition "
             "of the same order)"),
        kp_on=P("myeloid_priming_rate", 0.6931 / (14 * 24), "1/h",
                "calibrated: myeloid priming builds over ~2 weeks of exposure (cyt.abstinence12w)"),
        kp_off=P("myeloid_priming_decay", 0.6931 / (42 * 24), "1/h",
                 "calibrated: trained-immunity decay t½ ≈ 6 weeks (trained immunity lasts weeks–months, Netea et "
                 "al. Science 2016; set so inflammation persists at 12 weeks of abstinence, cyt.abstinence12w)",
                 variability=lognormal(0.4)),
        g_p=P("myeloid_priming_gain", 2.0, "dimensionless",
              "calibrated: fractional rise of constitutive TNF-α/IL-6/IL-1β production at full priming "
              "(cyt.abstinence12w, cyt.withdrawal)", variability=lognormal(0.5)))


def _states(m: Module, b: dict) -> SimpleNamespace:
    """The ten states; the fast ones start at the resting levels ``b`` (empty: Dobreva's values)."""
    return SimpleNamespace(
        pe=m.state("lps", "ng/kg", b.get("lps", 0.0), "circulating endotoxin (LPS) equivalent"),
        mr=m.state("monocytes_resting", "dimensionless", b.get("monocytes_resting", 30000.0),
                   "resting monocytes (Dobreva units)"),
        ma=m.state("monocytes_active", "dimensionless", b.get("monocytes_active", 0.0),
                   "activated monocytes (Dobreva units)"),
        tnf=m.state("tnf", "pg/mL", b.get("tnf", 1.118), "plasma TNF-α"),
        il10=m.state("il10", "pg/mL", b.get("il10", 0.2345), "plasma IL-10"),
        il6=m.state("il6", "pg/mL", b.get("il6", 1.0475), "plasma IL-6"),
        il1b=m.state("il1b", "pg/mL", b.get("il1b", 0.5), "plasma IL-1β"),
        prime=m.state("myeloid_priming", "dimensionless", 0.0, "trained-immunity state of monocytes (0 naive … 1)"),
        hep=m.state("crp_hepatic_signal", "dimensionless", 1.0, "hepatic CRP synthesis relative to rest"),
        crp=m.state("crp", "mg/L", sp.Symbol("crp_baseline", real=True), "plasma CRP"))


def _stimuli(m: Module, u: SimpleNamespace, p: SimpleNamespace, s: SimpleNamespace) -> SimpleNamespace:
    """Opioid TLR4 signal, cortisol restraint ρ and the monocyte stimulus S (module docstring)."""
    conc = m.assign("tlr4_opioid_concentration", u.morph + p.w_m3g * u.m3g + p.w_mtd * u.mtd, "ng/mL",
                    "TLR4-active opioid concentration (morphine-equivalent)")
    tlr4 = m.assign("tlr4_opioid_signal", conc / (conc + p.k_tlr4), "dimensionless",
                    "fraction of TLR4/MD-2 engaged by opioids", interface=True)
    rho = m.assign("cortisol_restraint", (1 + p.kc) / (p.kc + u.cort), "dimensionless",
                   "glucocorticoid restraint of monocyte activation and cytokine production")
    stim = m.assign("monocyte_stimulus", hplus(s.pe, p.xmpe, 1) + p.e_tlr4 * tlr4 + p.g_wd * u.wd, "dimensionless",
                    "monocyte activation stimulus: LPS, opioid TLR4 agonism, withdrawal stress")
    return SimpleNamespace(tlr4=tlr4, rho=rho, stim=stim)


def _odes(m: Module, u: SimpleNamespace, p: SimpleNamespace, s: SimpleNamespace, x: SimpleNamespace) -> None:
    """Dobreva's endotoxin, monocyte and cytokine equations (constitutive production raised by the priming
    π = 1 + g_π·M), then IL-1β, myeloid priming M and hepatic CRP."""
    pi = 1 + p.g_p * s.prime
    v2 = x.stim * (p.sm + p.kmtnf * hplus(s.tnf, p.xmtnf, p.hmtnf)) * hminus(s.il10, p.xm10, p.hm10) * s.mr * x.rho
    m.ode(s.pe, u.r_lps - p.kpe * s.pe)
    m.ode(s.mr, p.kmr * s.mr * (1 - s.mr / p.mmax) - v2)
    m.ode(s.ma, v2 - p.kma * s.ma)
    m.ode(s.tnf, p.ktnfm * s.ma * hminus(s.il10, p.xtnf10, p.htnf10) * hminus(s.il6, p.xtnf6, p.htnf6) * x.rho
          - p.ktnf * (s.tnf - p.stnf * pi))
    m.ode(s.il10, s.ma * (p.k10m + p.k106 * hplus(s.il6, p.x106, p.h106)) - p.k10 * (s.il10 - p.s10))
    m.ode(s.il6, s.ma * (p.k6m + p.k6tnf * hplus(s.tnf, p.x6tnf, p.h6tnf)) * hminus(s.il6, p.x66, p.h66)
          * hminus(s.il10, p.x610, p.h610) * x.rho - p.k6 * (s.il6 - p.s6 * pi))
    m.ode(s.il1b, p.k1bm * s.ma * hminus(s.il10, p.xtnf10, p.htnf10) * x.rho - p.k1b * (s.il1b - p.s1b * pi))
    m.ode(s.prime, p.kp_on * (u.wd + x.tlr4) * (1 - s.prime) - p.kp_off * s.prime)
    m.ode(s.hep, p.khep * (s.il6 / p.il6_rest - s.hep))
    m.ode(s.crp, p.kcrp * (p.crp0 * s.hep - s.crp))


def _readouts(m: Module, s: SimpleNamespace) -> None:
    """Plasma levels offered to other modules and to the assays."""
    m.assign("tnf_plasma", s.tnf, "pg/mL", "plasma TNF-α", interface=True)
    m.assign("il6_plasma", s.il6, "pg/mL", "plasma IL-6", interface=True)
    m.assign("il10_plasma", s.il10, "pg/mL", "plasma IL-10", interface=True)
    m.assign("il1b_plasma", s.il1b, "pg/mL", "plasma IL-1β", interface=True)
    m.assign("crp_plasma", s.crp, "mg/L", "plasma C-reactive protein", interface=True)


def _build(baseline: dict | None) -> Module:
    """The module with its fast states starting at ``baseline`` (None: Dobreva's initial values)."""
    m = Module("immune", __doc__)
    u = _inputs(m)
    p = SimpleNamespace(**_monocyte_parameters(m.parameter), **_cytokine_parameters(m.parameter),
                        **_il1b_crp_parameters(m.parameter), **_opioid_stress_parameters(m.parameter))
    b = baseline or {}
    s = _states(m, b)
    p.il6_rest = m.parameter(
        "il6_resting_level", b.get("il6", 1.0475), "pg/mL",
        "computed: resting IL-6 of this module at its default parameters with basal LPS (normalises CRP synthesis)")
    _odes(m, u, p, s, _stimuli(m, u, p, s))
    _readouts(m, s)
    return m


def _rest(m: Module) -> dict:
    """Resting steady state of the fast immune states at default parameters and inputs."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import fsolve
    names = ["lps", "monocytes_resting", "monocytes_active", "tnf", "il10", "il6", "il1b"]
    subs = {p.symbol: p.value for p in m.parameters.values()}
    subs |= {sp.Symbol(i.name, real=True): i.default for i in m.inputs.values()}
    subs |= {sp.Symbol("myeloid_priming", real=True): 0.0}
    asg = {}
    for a in m.assignments.values():
        asg[a.symbol] = a.expr.xreplace(asg)
    syms = [sp.Symbol(n, real=True) for n in names]
    rhs = [m.odes[n].xreplace(asg).xreplace(subs) for n in names]
    f = sp.lambdify(syms, rhs, "numpy")
    x0 = [0.0, 30000.0, 0.0, 1.118, 0.2345, 1.0475, 0.5]
    sol = solve_ivp(lambda t, x: f(*x), (0, 5000), x0, method="LSODA", rtol=1e-10, atol=1e-12)
    x = fsolve(lambda x: f(*x), sol.y[:, -1], xtol=1e-13)
    return dict(zip(names, map(float, x)))


@lru_cache(maxsize=1)
def resting_levels() -> dict:
    """Resting plasma levels (typical person): lps, monocytes, tnf, il10, il6, il1b."""
    return _rest(_build(None))


def basal_lps_translocation() -> float:
    """The gut's endotoxin flux (ng/kg/h) that this module's resting levels assume: the resting
    endotoxin times its clearance rate (so a gut module providing exactly this flux starts at rest)."""
    m = _build(None)
    return resting_levels()["lps"] * float(m.parameters["lps_clearance_rate"].value)


def build(drugs=None) -> Module:
    return _build(resting_levels())
