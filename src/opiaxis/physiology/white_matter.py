"""white_matter — frontal fractional anisotropy (DTI FA) lost under neuroinflammation, recovered in abstinence.

A one-state injury–repair model (no published kinetic model exists)::

    dJ/dt = k_inj·G·(1 − J) − k_rep·J          J: reversible white-matter injury (0 … 1)
    FA    = FA0·(1 − L·J)

G = ``glial_activation`` (glia module). Activated microglia and astrocytes injure myelin and
axons and add extracellular water (oedema, which lowers FA); repair (remyelination, resolution of
oedema) restores FA over weeks. Data it is built on: frontal FA is lower than in controls at
3 days of heroin abstinence and no longer different at 1 month (Addict Biol 2013;18:727); FA rises
with abstinence duration (Zhu et al., J Addict Med 2022); seed 000 (white-matter disruption with
gradual abstinence-associated recovery). Healthy adult frontal white-matter FA ≈ 0.40–0.50 in
tract-based analyses.
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
    J = m.state("wm_injury", "dimensionless", 0.0, "reversible frontal white-matter injury (0 … 1)")
    m.ode(J, k_inj * g * (1 - J) - k_rep * J)
    m.assign("fa_frontal", fa0 * (1 - loss * J), "dimensionless", "frontal fractional anisotropy (DTI)", interface=True)
    return m
