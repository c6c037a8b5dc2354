"""glia — microglia and astrocyte activation, central cytokines, BDNF, and the spinal/DRG neuro-immune interfaces.

No quantitative ODE model of opioid-driven glial activation or of the DRG neuro-immune
interface exists (model-anchors §4.3, §4.4, §6.4); this module is a minimal mechanistic
composition of what the reviews describe, each cell type a saturable activation state
(0 resting … 1 maximal) with first-order recruitment and resolution (the resting → activated
transition of Amato & Arnold, Bull Math Biol 2021, without the M1/M2 split)::

    dM/dt = k_M·D_M·(1 − M) − r_M·M                 microglia
    D_M   = (1 − I)·(w_cyt·E + w_TLR4·C/(C + K) + w_wd·W + w_A·A)
    dA/dt = k_A·(1 − I)·M·(1 − A) − r_A·A           astrocytes (recruited by microglial IL-1β/TNF)
    dΦ/dt = k_Φ·(1 − I)·(w_cyt·E + w_TLR4·C/(C+K))·(1 − Φ) − r_Φ·Φ   DRG macrophages
    dS/dt = k_S·Φ·(1 − S) − r_S·S                   satellite glial cells (around DRG neurons)
    dT/dt = k_T·(M + Φ)/2·(1 − T) − r_T·T           T-lymphocyte infiltration (spinal cord, DRG)
    dB/dt = k_B·(1 + g_B·M − B)                     BDNF (relative), released by activated microglia

E = relative excess of plasma TNF-α/IL-6 (peripheral → central immune signalling across the
blood–brain barrier and vagal afferents), C = TLR4-active opioid concentration (morphine, M3G,
methadone: Hutchinson MR et al., Neuroscience 2010;167:880; Wang X et al., PNAS 2012;109:6325),
W = ``withdrawal_signal`` (glial activation in withdrawal; Hutchinson et al., Pharmacol Rev
2011;63:772), I = ``glial_modulator_inhibition`` (ibudilast/minocycline-type glial attenuators;
Hutchinson 2009, Cooper 2016), a study parameter (default 0).

Seed 004 (Su PYP et al., J Pain Res 2022, doi:10.2147/JPR.S246883): in the CNS, neurons interface
with microglia, astrocytes and T cells; in the periphery, DRG neurons with macrophages, satellite
glial cells and T cells; together they drive peripheral and central sensitization. Microglial
BDNF → KCC2 down-regulation → dorsal-horn disinhibition (Coull JA et al., Nature 2005;438:1017;
Ferrini F et al., Nat Neurosci 2013;16:183 for morphine hyperalgesia). Read-outs:

* ``glial_activation`` = (M + A)/2 — brain/spinal glial activation (0 … 1);
* ``spinal_sensitization`` — weighted sum of microglial BDNF, astrocytes, DRG macrophages,
  satellite glia and T cells (0 none … 1 maximal), for the pain module;
* ``bdnf_rel`` — microglia-derived (spinal/central) BDNF relative to rest;
* ``central_cytokines_rel`` — central IL-1β/TNF-α relative to rest.

Every rate and weight is an assumption (no human kinetic data): microglia activate within hours
and resolve over days, astrocytes over a week or two, T-cell infiltration over weeks.
"""

from __future__ import annotations

import sympy as sp

from ..model.core import Module, lognormal
from .immune import resting_levels

H_PER_D = 24.0


def build(drugs=None) -> Module:
    m = Module("glia", __doc__)
    rest = resting_levels()
    tnf = m.input("tnf_plasma", "pg/mL", rest["tnf"], "immune module (default: its resting TNF-α)")
    il6 = m.input("il6_plasma", "pg/mL", rest["il6"], "immune module (default: its resting IL-6)")
    morph = m.input("morphine_plasma", "ng/mL", 0.0, "pk module")
    m3g = m.input("m3g_plasma", "ng/mL", 0.0, "pk module")
    mtd = m.input("methadone_plasma", "ng/mL", 0.0, "pk module")
    wd = m.input("withdrawal_signal", "dimensionless", 0.0, "adaptation module (0 when absent)")

    P = lambda *a, **k: m.parameter(*a, **k)  # noqa: E731
    inh = P("glial_modulator_inhibition", 0.0, "dimensionless",
            "study parameter: fraction by which a glial modulator (ibudilast/minocycline-type) attenuates glial "
            "recruitment; 0 = untreated", lower=0.0, upper=1.0)
    tnf_ref = P("glia_tnf_reference", rest["tnf"], "pg/mL", "computed: resting TNF-α of the immune module")
    il6_ref = P("glia_il6_reference", rest["il6"], "pg/mL", "computed: resting IL-6 of the immune module")
    k_tlr4 = P("glia_tlr4_K", 2000.0, "ng/mL",
               "calibrated like tlr4_opioid_K of the immune module (model-anchors §4.4: no human affinity); "
               "micromolar TLR4 potencies in vitro (Hutchinson et al. 2010)")
    w_m3g = P("glia_tlr4_m3g_weight", 1.0, "dimensionless", "assumed: M3G as effective as morphine at TLR4 (Due 2012)")
    w_mtd = P("glia_tlr4_methadone_weight", 1.0, "dimensionless", "assumed: as morphine (Hutchinson et al. 2010)")
    w_cyt = P("glia_cytokine_weight", 0.02, "dimensionless",
              "calibrated (by hand, dti.recovery): microglial drive per unit relative excess of plasma TNF-α/IL-6; small, so that glia resolve within weeks of abstinence although plasma cytokines stay raised", variability=lognormal(0.5))
    w_tlr4 = P("glia_tlr4_weight", 1.0, "dimensionless",
               "calibrated: microglial drive at full opioid TLR4 engagement; with K = 2000 ng/mL chronic heroin or "
               "methadone gives a modest drive (dti.recovery)", variability=lognormal(0.5))
    w_wd = P("glia_withdrawal_weight", 1.0, "dimensionless",
             "calibrated: microglial drive per unit withdrawal_signal, so FA is lowest in early abstinence "
             "(dti.recovery)", variability=lognormal(0.5))
    w_a = P("glia_astrocyte_feedback", 0.1, "dimensionless", "assumed: reactive astrocytes sustain microglial activation")
    k_m = P("microglia_activation_rate", 1 / 48.0, "1/h", "assumed: sustained microglial activation builds over ~2 d")
    r_m = P("microglia_resolution_rate", 0.6931 / (2 * H_PER_D), "1/h", "assumed: microglial activation resolves with t½ ≈ 2 d",
            variability=lognormal(0.4))
    k_a = P("astrocyte_activation_rate", 1 / (4 * H_PER_D), "1/h", "assumed: astrocytes become reactive over ~4 d")
    r_a = P("astrocyte_resolution_rate", 0.6931 / (4 * H_PER_D), "1/h", "assumed: reactive astrocytes return to rest with t½ ≈ 4 d",
            variability=lognormal(0.4))
    k_p = P("drg_macrophage_activation_rate", 1 / 12.0, "1/h", "assumed: DRG macrophages activate within ~12 h")
    r_p = P("drg_macrophage_resolution_rate", 0.6931 / (5 * H_PER_D), "1/h", "assumed: t½ ≈ 5 d")
    k_s = P("satellite_glia_activation_rate", 1 / H_PER_D, "1/h", "assumed: satellite glia respond over ~1 d")
    r_s = P("satellite_glia_resolution_rate", 0.6931 / (7 * H_PER_D), "1/h", "assumed: t½ ≈ 7 d")
    k_t = P("t_cell_infiltration_rate", 1 / (7 * H_PER_D), "1/h", "assumed: T-cell infiltration builds over ~1 week")
    r_t = P("t_cell_resolution_rate", 0.6931 / (21 * H_PER_D), "1/h", "assumed: T-cell infiltrates resolve with t½ ≈ 3 weeks")
    k_b = P("bdnf_turnover_rate", 1 / 12.0, "1/h", "assumed: microglial BDNF release follows activation within ~12 h")
    g_b = P("bdnf_microglia_gain", 1.0, "dimensionless",
            "assumed: fully activated microglia double spinal BDNF (Coull et al. 2005; Ferrini et al. 2013)")
    g_c = P("central_cytokine_gain", 4.0, "dimensionless",
            "assumed: fully activated microglia raise central IL-1β/TNF-α five-fold")

    mg = m.state("microglia", "dimensionless", 0.0, "microglial activation (0 resting … 1)")
    ast = m.state("astrocytes", "dimensionless", 0.0, "astrocyte reactivity (0 resting … 1)")
    mac = m.state("drg_macrophages", "dimensionless", 0.0, "DRG macrophage activation (0 … 1)")
    sgc = m.state("satellite_glia", "dimensionless", 0.0, "DRG satellite glial activation (0 … 1)")
    tc = m.state("t_cells", "dimensionless", 0.0, "spinal/DRG T-cell infiltration (0 … 1)")
    bd = m.state("bdnf", "dimensionless", 1.0, "microglia-derived BDNF relative to rest")

    excess = m.assign("glia_cytokine_excess", sp.Max((tnf / tnf_ref + il6 / il6_ref) / 2 - 1, 0), "dimensionless",
                      "relative excess of plasma TNF-α/IL-6")
    conc = morph + w_m3g * m3g + w_mtd * mtd
    tlr4 = m.assign("glia_tlr4_signal", conc / (conc + k_tlr4), "dimensionless", "fraction of glial TLR4 engaged by opioids")
    peripheral = w_cyt * excess + w_tlr4 * tlr4
    drive = m.assign("microglia_drive", (1 - inh) * (peripheral + w_wd * wd + w_a * ast), "dimensionless",
                     "microglial activation drive")
    m.ode(mg, k_m * drive * (1 - mg) - r_m * mg)
    m.ode(ast, k_a * (1 - inh) * mg * (1 - ast) - r_a * ast)
    m.ode(mac, k_p * (1 - inh) * peripheral * (1 - mac) - r_p * mac)
    m.ode(sgc, k_s * mac * (1 - sgc) - r_s * sgc)
    m.ode(tc, k_t * (mg + mac) / 2 * (1 - tc) - r_t * tc)
    m.ode(bd, k_b * (1 + g_b * mg - bd))

    m.assign("glial_activation", (mg + ast) / 2, "dimensionless", "central glial activation (0 rest … 1 maximal)",
             interface=True)
    m.assign("spinal_sensitization", 0.3 * (bd - 1) / g_b + 0.2 * ast + 0.2 * mac + 0.15 * sgc + 0.15 * tc,
             "dimensionless", "spinal/DRG neuro-immune sensitization (0 none … 1 maximal)", interface=True)
    m.assign("bdnf_rel", bd, "dimensionless", "microglia-derived BDNF relative to rest", interface=True)
    m.assign("central_cytokines_rel", 1 + g_c * mg, "dimensionless", "central IL-1β/TNF-α relative to rest",
             interface=True)
    return m
