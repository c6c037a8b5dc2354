"""white_matter — frontal fractional anisotropy (DTI FA) lost under neuroinflammation, recovered in abstinence.

A two-state injury–repair model (no published kinetic model exists)::

    dJ/dt = k_inj·G·(1 − J) − k_rep·J                      J: reversible injury (oedema; days)
    dM/dt = k_dm·G·(1 − M) − k_rm·M/(1 + G/G_r)             M: myelin injury (months to years)
    FA    = FA0·(1 − L·J − L_m·M)

G = ``glial_activation`` (glia module). Activated microglia and astrocytes injure myelin and
axons and add extracellular water (oedema, which lowers FA); repair (remyelination, resolution of
oedema) restores FA over weeks. Data it is built on: frontal FA is lower than in controls at
3 days of heroin abstinence and no longer different at 1 month (Addict Biol 2013;18:727); FA rises
with abstinence duration (Zhu et al., J Addict Med 2022); seed 000 (white-matter disruption with
gradual abstinence-associated recovery). Healthy adult frontal white-matter FA ≈ 0.40–0.50 in
tract-based analyses.

The second state M is myelin injury (eleventh session). In heroin users the FA loss is radial
diffusivity with unchanged axial diffusivity — myelin, not axons (Brain Res 2013;1531:58; Zhu et
al., J Addict Med 2022, in short- and long-term abstinence) — and it recovers over months of
abstinence, not days: long-term abstainers keep only two clusters of reduced FA where short-term
abstainers have extensive loss, and FA in those regions rises with the months of abstinence (Zhu
2022; Shen et al., J Addict Med 2012;6:172). FA loss also grows with the years of heroin use (Liu
et al., Am J Drug Alcohol Abuse 2008;34:562; Qiu et al., PLoS One 2013;8:e63212; not found in
Brain Res 2013;1531:58). Both follow if remyelination is slowed while glia are activated:
pro-inflammatory microglia and their cytokines block the differentiation of oligodendrocyte
precursors, and remyelination needs the switch to a pro-repair state (Miron et al., Nat Neurosci
2013;16:1211). During use, repair runs at k_rm/(1 + G/G_r), so myelin injury accrues over years;
once the glia settle it is repaired at k_rm over months. The rates and the size L_m are assumed
(orders of magnitude only; see the parameters).
"""

from __future__ import annotations

from ..model.core import Module, Variability, lognormal


def build(drugs=None) -> Module:
    m = Module("white_matter", __doc__)
    g = m.input("glial_activation", "dimensionless", 0.0, "glia module (0 = resting glia when absent)")
    fa0 = m.parameter("fa_frontal_baseline", 0.45, "dimensionless",
                      "assumed: healthy adult frontal white-matter FA ≈ 0.45 (TBSS range 0.40–0.50)",
                      variability=Variability("normal", 0.025), lower=0.3, upper=0.6,
                      description="this person's healthy frontal FA")
    loss = m.parameter("fa_max_loss", 0.2, "dimensionless",
                       "assumed: fractional FA loss at maximal reversible injury; with chronic heroin use this gives "
                       "FA ≈ 5–10% below controls, the size reported in heroin users' frontal white matter")
    k_inj = m.parameter("wm_injury_rate", 1 / (5 * 24.0), "1/h",
                        "assumed: injury accrues over ~5 days of full glial activation", variability=lognormal(0.4))
    k_rep = m.parameter("wm_repair_rate", 0.6931 / (4 * 24.0), "1/h",
                        "calibrated: repair t½ ≈ 4 d so that the FA gap at 1 month of abstinence is ≤ 1/3 of the day-3 gap "
                        "(Addict Biol 2013;18:727; dti.recovery)", variability=lognormal(0.3))
    loss_m = m.parameter("fa_myelin_max_loss", 0.1, "dimensionless",
                         "assumed: fractional FA loss at maximal myelin injury, half the reversible component's "
                         "(fa_max_loss); with 5 years of heroin it adds ~3% FA loss to the reversible ~5%, inside the "
                         "5–10% reported in long-term users' frontal white matter")
    k_dm = m.parameter("wm_myelin_injury_rate", 0.00125 / 24.0, "1/h",
                       "assumed: myelin injury accrues over years of glial activation (Qiu 2013: FA loss grows with "
                       "the years of dependence); ~3% of its maximum per year at the glial activation of daily heroin",
                       variability=lognormal(0.4))
    k_rm = m.parameter("wm_remyelination_rate", 0.6931 / (90 * 24.0), "1/h",
                       "assumed: remyelination t½ ≈ 3 months at rest, the order of the recovery between short- and "
                       "long-term abstinence (Zhu et al., J Addict Med 2022; Shen et al., J Addict Med 2012;6:172)",
                       variability=lognormal(0.4))
    g_r = m.parameter("wm_remyelination_glial_half", 0.03, "dimensionless",
                      "assumed: glial activation that halves remyelination (activated microglia block oligodendrocyte "
                      "differentiation: Miron et al., Nat Neurosci 2013;16:1211); ~1/10 of daily heroin's activation "
                      "(≈ 0.28), so repair slows ~10-fold during use")
    J = m.state("wm_injury", "dimensionless", 0.0, "reversible frontal white-matter injury (0 … 1)")
    M = m.state("wm_myelin_injury", "dimensionless", 0.0, "frontal myelin injury (0 … 1), repaired over months")
    m.ode(J, k_inj * g * (1 - J) - k_rep * J)
    m.ode(M, k_dm * g * (1 - M) - k_rm * M / (1 + g / g_r))
    m.assign("fa_frontal", fa0 * (1 - loss * J - loss_m * M), "dimensionless", "frontal fractional anisotropy (DTI)",
             interface=True)
    return m
