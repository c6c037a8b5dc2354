"""respiration — arterial CO2 with a chemoreflex, opioid depression of the central drive, and a
partial breathing tolerance of its own.

Equations (time in hours)
-------------------------
1. **CO2 balance with chemoreflex feedback.** The FDA overdose model (Mann et al., Clin Pharmacol
   Ther 2022;112:1020, from Magosso, Ursino & van Oostrom, IEEE TBME 2004;51:1115) computes
   ventilation as a wakefulness drive plus a CO2/O2 chemoreflex drive, both depressed by μ
   agonism, with CO2 produced by metabolism and removed by ventilation. Its full gas-exchange
   model works on a time scale of seconds; here the same loop is taken in the one-state form that
   Dahan's and Bouillon's groups fitted to human opioid data (indirect response with CO2
   feedback; Bouillon et al., Anesthesiology 2003;99:779, remifentanil; Olofsen et al.,
   Anesthesiology 2010;112:1382):

       dP/dt = k_el · ( P0 − (1 − E) · (P/P0)^F · P )          (spontaneous breathing)
       V/V0  = (1 − E) · (P/P0)^F

   P = PaCO2 (mmHg), P0 its drug-free value; k_el·P0 is the metabolic CO2 production and
   V·P the ventilatory elimination (alveolar ventilation equation, PaCO2 = 0.863·VCO2/VA); F is
   the gain of the CO2 chemoreflex; E (0…1) the opioid depression of the central drive. At a
   steady state (1 − E)·(P/P0)^(F+1) = 1, so V/V0 = (1 − E)^(1/(F+1)): the CO2 that accumulates
   drives breathing back, and halving ventilation takes E ≈ 0.97 with PaCO2 doubled.

2. **Clamped CO2 (an experiment input).** In isohypercapnic studies (dynamic end-tidal forcing,
   Algera et al., Clin Pharmacol Ther 2021, doi:10.1002/cpt.2027) PaCO2 is held at a set level
   P_c, so dP/dt = k_clamp·(P_c − P) when ``co2_clamp`` = 1 and V/V0 = (1 − E)·(P_c/P0)^F. The
   ventilation relative to the same person's pre-drug ventilation at the clamp is then 1 − E: a
   clamped experiment reads the depression of the drive, spontaneous breathing reads it through
   the feedback, so the two give different C50s (clamped lower).

3. **Opioid depression of the drive.** E = (S_b/S50)^γ / (1 + (S_b/S50)^γ) with S the μ stimulus
   of the adaptation module (compressed occupancy odds) and S_b = S/Φ_b the stimulus left after
   breathing tolerance. S50 is the stimulus of fentanyl at its naïve C50 for 50% depression of
   isohypercapnic ventilation (0.42 ng/mL, Algera 2021).

4. **Breathing tolerance, partial and separate.** Tolerance to respiratory depression develops
   less than analgesic tolerance (rhesus monkeys maintained on morphine: 4.4-fold antinociceptive
   tolerance, none to ventilatory depression in 5% CO2, Paronis & Woods, JPET 1997;282:355;
   humans: 4.3-fold, Algera 2021), so it is a state of its own, not the counter-adaptation of
   the adaptation module. It follows sustained exposure, not each injection: the stimulus is
   averaged over about a day, dX/dt = k_x·(S − X), and the potency fold Φ_b (1 naïve) relaxes
   towards Φ* = 1 + g_b·X, with a gain rate while Φ_b < Φ* and a (faster) loss rate while
   Φ_b > Φ* (in abstinence):

       dΦ_b/dt = k_on·(Φ* − Φ_b)⁺ − k_off·(Φ_b − Φ*)⁺

   (Without the averaging, the fast loss between injections would undo the gain during them, and
   a once-daily user would never regain tolerance.)

   ``resp_tolerance_level`` = 1 − 1/Φ_b is the fraction of the naïve respiratory potency lost.

5. **Oxygen (read-outs).** PaO2 from the alveolar gas equation, PAO2 = PIO2 − PaCO2/RQ, minus an
   alveolar–arterial gradient; SpO2 from the Severinghaus equation (J Appl Physiol 1979;46:599).
   Hypoxic ventilatory drive is not modelled (opioids blunt it strongly, Weil et al., NEJM
   1975;292:1103, and Bouillon's model has none), so in deep depression the CO2 drive alone
   limits hypoventilation. The alveolar gas equation assumes gas exchange in steady state; in
   apnoea PaO2 falls faster than it predicts.
"""

from __future__ import annotations

import sympy as sp

from ..model.core import Module, lognormal
from .adaptation import fentanyl_stimulus

# Naïve fentanyl effect-site C50 for 50 % depression of isohypercapnic ventilation (Algera 2021)
FENTANYL_C50_NAIVE = 0.42  # ng/mL


def _smooth_pos(d, delta):
    """Smooth positive part of d, exactly 0 at d = 0 (so the drug-free state is a steady state)."""
    return (d + sp.sqrt(d ** 2 + delta ** 2)) / 2 * d ** 2 / (d ** 2 + delta ** 2)


def _gas_parameters(m: Module) -> dict:
    p = {}
    p["P0"] = m.parameter("paco2_baseline", 40.0, "mmHg",
                          "Mann et al. 2022 (FDA model, physiologicalParameters: P_a,CO2,0 = 40 mmHg); "
                          "Bouillon et al. 2003 fitted 42.4 mmHg", variability=lognormal(0.05),
                          description="drug-free arterial PaCO2")
    p["kel"] = m.parameter("co2_elimination_rate", 4.8, "1/h",
                           "Bouillon et al., Anesthesiology 2003;99:779: k_el,CO2 0.08/min (CO2 stores' "
                           "turnover in the indirect-response model)", variability=lognormal(0.3),
                           description="first-order rate k_el of the CO2 balance")
    p["F"] = m.parameter("co2_chemoreflex_gain", 4.3, "dimensionless",
                         "Bouillon et al. 2003: F = 4.30, ventilation ∝ (PaCO2/PaCO2,0)^F (gives "
                         "0.8 L/min/mmHg at rest with V0 7 L/min)", variability=lognormal(0.25),
                         description="gain F of the CO2 chemoreflex")
    p["clamp"] = m.parameter("co2_clamp", 0.0, "dimensionless",
                             "experiment input (0 = spontaneous breathing, 1 = PaCO2 held at paco2_clamp_level, "
                             "as in isohypercapnic studies with dynamic end-tidal forcing, Algera 2021)",
                             lower=0.0, upper=1.0, description="CO2 clamp switch")
    p["Pc"] = m.parameter("paco2_clamp_level", 50.0, "mmHg",
                          "experiment input; assumed 50 mmHg (isohypercapnia is set ~10 mmHg above rest in "
                          "Dahan's studies). The ventilation relative to the pre-drug clamp value does not "
                          "depend on it in this model", description="clamped PaCO2")
    p["kc"] = m.parameter("co2_clamp_rate", 60.0, "1/h",
                          "assumed: end-tidal forcing corrects PaCO2 within about a minute", description="clamp rate")
    p["PIO2"] = m.parameter("inspired_po2", 149.0, "mmHg",
                            "Mann et al. 2022 (P_I,O2 = 149 mmHg, room air at sea level)", description="inspired PO2")
    p["RQ"] = m.parameter("respiratory_quotient", 0.8, "dimensionless",
                          "textbook value for a mixed diet (alveolar gas equation)", description="respiratory quotient")
    p["AaD"] = m.parameter("aa_gradient", 10.0, "mmHg",
                           "assumed: alveolar–arterial PO2 gradient of a young adult (5–15 mmHg)",
                           description="alveolar–arterial PO2 gradient")
    p["sev_a"] = m.parameter("severinghaus_a", 23400.0, "mmHg**3",
                             "Severinghaus, J Appl Physiol 1979;46:599: SO2 = 1/(a/(P³ + b·P) + 1)")
    p["sev_b"] = m.parameter("severinghaus_b", 150.0, "mmHg**2", "Severinghaus 1979 (as severinghaus_a)")
    p["floor"] = m.parameter("pao2_floor", 1.0, "mmHg",
                             "assumed: numerical floor of PaO2 (the alveolar gas equation turns negative beyond "
                             "PaCO2 ≈ 110 mmHg)")
    return p


def _drive_parameters(m: Module, drugs) -> dict:
    p = {}
    p["S50"] = m.parameter("vent_s50_naive", round(fentanyl_stimulus(FENTANYL_C50_NAIVE, drugs), 4), "dimensionless",
                           "Algera et al., Clin Pharmacol Ther 2021 (doi:10.1002/cpt.2027): naïve fentanyl effect-site "
                           "C50 0.42 ng/mL for 50% depression of isohypercapnic ventilation, converted to the μ stimulus "
                           "through the receptors module's fentanyl μ binding (Mann 2022: K 0.118 ng/mL, n 0.844)",
                           variability=lognormal(0.17), description="μ stimulus halving the central drive (naïve)")
    p["gam"] = m.parameter("vent_hill", 2.0, "dimensionless",
                           "Bouillon et al. 2003: Hill coefficient 1.25 on concentration; the stimulus S ∝ C^(n·h) "
                           "(n 0.844, h 0.75) at low occupancy, so γ = 1.25/0.633 ≈ 2.0 on S",
                           description="Hill exponent of drive depression in the stimulus")
    p["g_b"] = m.parameter("resp_tolerance_gain", 0.77, "dimensionless",
                           "calibrated to the hypercapnic ventilatory response of stable methadone-maintained "
                           "patients, 1.27 vs 1.64 L/min/mmHg in matched controls (ratio 0.77; Teichtahl et al., "
                           "Chest 2005;128:1339): with methadone 80 mg daily (no study dose given; the model's "
                           "standard) the daily-mean drive 1 − E on day 59 is 0.77 (g_b 0.7 / 0.8 gave 0.739 / 0.782). "
                           "Not fitted to tol.fentanyl.c50 (a prediction). Steady-state potency fold Φ* = 1 + g_b·S; the analgesic counter-adaptation "
                           "gives 1 + S̄ (the same form), so breathing keeps ~3/4 of it",
                           variability=lognormal(0.4), description="breathing tolerance per unit μ stimulus")
    p["k_on"] = m.parameter("resp_tolerance_onset_rate", 0.693 / (7 * 24.0), "1/h",
                            "assumed: t½ 7 days. Tolerance to respiratory depression develops more slowly than to "
                            "analgesia (review: Hill et al., Br J Pharmacol 2020;177:254; animal data) and no human "
                            "rate is published", variability=lognormal(0.4),
                            description="rate of gaining breathing tolerance")
    p["k_off"] = m.parameter("resp_tolerance_offset_rate", 0.693 / (3 * 24.0), "1/h",
                             "assumed: t½ 3 days. Tolerance 'passes off over a few days to weeks' (clinical pharmacology "
                             "texts); overdose risk is highest in the first 2 weeks after release or detoxification "
                             "(Binswanger et al., NEJM 2007;356:157; Strang et al., BMJ 2003;326:959), so most is lost "
                             "within days; no human measurement of its time course was found",
                             variability=lognormal(0.4), description="rate of losing breathing tolerance in abstinence")
    p["k_x"] = m.parameter("resp_exposure_rate", 1 / 24.0, "1/h",
                           "assumed: breathing tolerance follows the μ stimulus averaged over about a day (time "
                           "constant 24 h), the spacing of daily use; tolerance is a response to sustained, not "
                           "momentary, exposure", description="averaging rate of the μ stimulus for breathing tolerance")
    p["delta"] = m.parameter("resp_tolerance_smoothing", 0.01, "dimensionless",
                             "assumed: width of the smooth switch between gain and loss (numerical)")
    return p


def build(drugs=None) -> Module:
    m = Module("respiration", __doc__)
    S = m.input("mor_stimulus", "dimensionless", 0.0, "adaptation module (0 when absent)",
                "μ stimulus (compressed occupancy odds)")
    g, d = _gas_parameters(m), _drive_parameters(m, drugs)
    P = m.state("paco2", "mmHg", g["P0"], "arterial CO2 partial pressure")
    B = m.state("resp_tolerance_fold", "dimensionless", 1.0,
                "potency fold of μ agonism on the respiratory drive lost to breathing tolerance (1 naïve)")

    X = m.state("resp_mu_exposure", "dimensionless", 0.0, "μ stimulus averaged over about a day")
    m.ode(X, d["k_x"] * (S - X))
    target = 1 + d["g_b"] * X
    m.ode(B, d["k_on"] * _smooth_pos(target - B, d["delta"]) - d["k_off"] * _smooth_pos(B - target, d["delta"]))
    m.assign("resp_tolerance_level", 1 - 1 / B, "dimensionless",
             "fraction of the naïve respiratory potency of μ agonism lost to tolerance (0 naïve)", interface=True)
    u = (S / (B * d["S50"])) ** d["gam"]
    E = m.assign("resp_drive_depression", u / (1 + u), "dimensionless",
                 "opioid depression E of the central respiratory drive (0 none, 1 abolished)", interface=True)
    P0 = g["P0"]
    drive = (1 - E) * (P / P0) ** g["F"]
    m.ode(P, (1 - g["clamp"]) * g["kel"] * (P0 - drive * P) + g["clamp"] * g["kc"] * (g["Pc"] - P))
    m.assign("ventilation_rel", drive, "dimensionless",
             "minute ventilation as a fraction of the drug-free resting value (chemoreflex included)", interface=True)
    pao2 = m.assign("pao2", sp.Max(g["PIO2"] - P / g["RQ"] - g["AaD"], g["floor"]), "mmHg",
                    "arterial O2 partial pressure (alveolar gas equation, steady gas exchange)", interface=True)
    m.assign("spo2", 1 / (g["sev_a"] / (pao2 ** 3 + g["sev_b"] * pao2) + 1), "dimensionless",
             "arterial O2 saturation (Severinghaus 1979), 0…1", interface=True)
    return m
