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

3. **Opioid depression of the drive.** E = u/(1 + u), u = (σ/(Φ_b·σ50))^γ, with σ the linear
   μ signal of the receptors module at its respiratory site (``mor_signal_respiratory``, operational
   model: C/K^app for a full agonist, τ·ρ for a partial one; the same as the central σ for every
   ligand but buprenorphine, which binds the respiratory receptors with its own in-vivo kinetics,
   Yassen 2007) and Φ_b the breathing-tolerance fold. σ50 is the
   signal of fentanyl at its naïve C50 for 50% depression of isohypercapnic ventilation
   (0.42 ng/mL, Algera 2021): (0.42/0.118)^0.844 = 2.92; γ = 1.25/0.844 = 1.48 turns Bouillon's
   Hill coefficient on concentration (1.25) into one on σ ∝ C^0.844. Φ_b divides the signal, i.e.
   it shifts fentanyl's concentration–depression curve by Φ_b^(1/0.844). A signal without bound or
   compression keeps a heroin dose on top of methadone additive (design memo
   docs/design/breathing-tolerance.md, A).

4. **Breathing tolerance, driven by effect over time, in two phases** (the nonlinear feedback of
   Gabrielsson & Peletier, AAPS J 2008;10:70, as in the adaptation module, on the log-potency):

       Φ_b = Φ_f·Φ_s,   d ln Φ_x/dt = k_on,x·E − k_off,x·(1 − 1/Φ_x)   (x = f fast, s slow),
       k_on,x = k_off,x/r.

   Tolerance is driven by the depression E itself integrated over time, not by occupancy: in
   rabbits acute respiratory tolerance needed a sizeable first effect and hours of exposure, and
   naloxone at the peak prevented it (JPET 1987;242:251); intermittent high doses weeks apart give
   none, continuous exposure gives tolerance lasting days (Marchette et al., JPET 2023;385:117).
   Its loss is biphasic: after morphine, methadone or diamorphine pretreatment, responsiveness
   returned in a fast phase (rate imprecise) and a slow phase with half-time 13.2 ± 0.5 days in rats
   (17.4 in mice) from the 4th day on, whatever the regimen or drug (Cox, Ginsburg, Willis & Davies,
   Br J Pharmacol 1975, doi:10.1111/j.1476-5381.1975.tb07374.x; abstract read); a rapid and a slowly
   developing tolerance were also separated by the spacing of doses (Mushlin, Grell & Cochin, JPET
   1976;196:280). The two phases share r (assumed: Cox gives their rates, not their amplitudes), so
   under sustained exposure each settles at E = r·(1 − 1/Φ_x) and carries half of ln Φ_b; the slow
   phase builds (k_on,s = k_off,s/r) and is lost over weeks, so a daily user keeps what weeks of use
   built between days, and months of abstinence remove it. r (``resp_tolerance_residual``, the one
   calibrated constant: Teichtahl et al., Chest 2005;128:1339, methadone-maintained patients keep
   1 − 0.77 of the hypercapnic drive loss) sets how far Φ_b grows with the sustained signal, so a
   brief or small effect builds little. ``resp_tolerance_fold`` = Φ_b, ``resp_tolerance_level`` =
   1 − 1/Φ_b is the fraction of the naïve respiratory potency lost.

5. **Oxygen: a store of its own.** The alveolar gas equation (PAO2 = PIO2 − PaCO2/RQ) holds only
   when gas exchange is in steady state. The body's O2 stores are small and fast (lung gas at FRC
   and haemoglobin, ~1.5 L against ~0.25–0.35 L/min consumed) while its CO2 stores are large and
   slow (Farhi & Rahn, Anesthesiology 1960;21:604; the FDA model keeps separate lung, brain and
   tissue O2 and CO2 compartments: Mann et al. 2022 after Magosso et al. 2004). So when a bolus
   depresses ventilation within minutes, PaO2 falls before the CO2 that drives breathing back has
   accumulated (the CO2 balance above turns over with k_el = 0.08/min). The alveolar PO2 P_A is a
   state with an O2 mass balance (alveolar ventilation equation for O2, dry gas at 37 °C):

       C(P_A) · dP_A/dt = (V̇A0/P_dry) · ( v·(PIO2 − P_A) − (P0/RQ)·m(P_A) )

   v = ``ventilation_rel``; V̇A0/P_dry·(P0/RQ) is the resting O2 uptake, so at rest P_A sits at the
   alveolar-gas-equation value PIO2 − P0/RQ and a drug-free person stays there; in a steady state
   PIO2 − P_A = (P0/RQ)/v, the same as the gas equation on the steady PaCO2 = P0/v. The capacitance
   C = V_L/P_dry + O2cap·dS/dP counts lung gas and the O2 haemoglobin releases as PO2 falls (the
   Severinghaus slope; arterial blood stands in for the blood store, venous and tissue stores are
   left out, so apnoea desaturates somewhat faster than in Farmery & Roe, Br J Anaesth
   1996;76:284). m = (P_A/(P_A + K_m))/(P_A0/(P_A0 + K_m)) lets O2 uptake fail as the store runs out
   (K_m 1 mmHg, assumed: a numerical floor, not a tissue model). PaO2 = P_A minus an
   alveolar–arterial gradient; SpO2 from the Severinghaus equation (J Appl Physiol 1979;46:599).

6. **Hypoxic drive.** The peripheral chemoreflex adds ventilation as saturation falls, and it is
   depressed by opioids like the central drive (Weil et al., NEJM 1975;292:1103: morphine blunts the
   hypoxic response; the FDA model depresses both chemoreflexes through μ occupancy):

       v = (1 − E)·( (P/P0)^F + H·(S0 − S)⁺ )      (the hypoxic term is off under an end-tidal clamp)

   with S the SpO2 of the O2 store, S0 its resting value and H the isocapnic hypoxic ventilatory
   response of controls, 1.12 L/min per % SpO2 (Teichtahl et al., Chest 2005;128:1339), over a
   resting ventilation of 7 L/min. Teichtahl found it doubled (2.14) in methadone patients; that
   adaptation is not modelled (one H for everyone). Isohypercapnic studies also hold end-tidal O2
   (dynamic end-tidal forcing, Algera 2021), so under ``co2_clamp`` the hypoxic term is off.

7. **Sedatives on board** (benzodiazepines, alcohol, gabapentinoids; tenth session). A sedative adds
   no depression of its own at these doses (ethanol 1 g/L alone: none, van der Schrier et al.,
   Anesthesiology 2017;126:534) but deepens the opioid's: the odds of the central drive's depression
   are multiplied by s (``sedative_odds_shift``, 1 without a sedative; the behaviour layer sets it to
   the patient's ``sedative_potency_shift`` on their sedative days), E = s·u/(1 + s·u), a left shift
   of the opioid's concentration–depression curve. It acts on the drive, inside the loop, so the CO2
   and hypoxic chemoreflexes answer the deeper depression as they answer the opioid's own (before, the
   behaviour layer deepened ventilation and PaO2 after the simulation, at a steady state of the
   alveolar gas equation without that answer). Breathing tolerance is driven by the opioid's own
   depression u/(1 + u): a sedative does not signal through μ receptors (ethanol reverses, not
   builds, opioid respiratory tolerance in mice: Hill et al., Neuropsychopharmacology 2016;41:762).
"""

from __future__ import annotations

import sympy as sp

from ..model.core import Module, lognormal

# Naïve fentanyl effect-site C50 for 50 % depression of isohypercapnic ventilation (Algera 2021)
FENTANYL_C50_NAIVE = 0.42  # ng/mL
FENTANYL_HILL = 0.844      # fentanyl μ binding Hill coefficient (Mann 2022), the library's when absent


def fentanyl_signal(conc_ng_ml: float, drugs=None) -> float:
    """Linear central μ signal σ of fentanyl alone at an effect-site concentration, (C/K)^n, through
    the library's fentanyl μ binding (Mann 2022: K 0.118 ng/mL, n 0.844 when the library has no
    fentanyl; fentanyl's τ is 1: its library constant is the anchored potency)."""
    K, n = 0.118, FENTANYL_HILL
    try:
        b = drugs["fentanyl"].receptors["mu"]
        K, n = float(b.dissociation_constant()), float(b.hill.value)
    except (KeyError, TypeError, AttributeError):  # library without fentanyl: keep the Mann 2022 values
        pass
    return (conc_ng_ml / K) ** n


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
                             "assumed: numerical floor of PaO2 (the O2 store is emptied at the floor)")
    return p


def _o2_store_parameters(m: Module) -> dict:
    p = {}
    p["VA0"] = m.parameter("alveolar_ventilation_rest", 300.0, "L/h",
                           "textbook resting alveolar ventilation 5 L/min (West, Respiratory Physiology; "
                           "Farmery & Roe, Br J Anaesth 1996;76:284 use 4 L/min)", variability=lognormal(0.2),
                           description="resting alveolar ventilation V̇A0")
    p["VL"] = m.parameter("lung_gas_volume", 3.28, "L",
                          "Mann et al. 2022 (FDA model lung volume V_A = 3.28 L, after Magosso et al., IEEE TBME "
                          "2004); functional residual capacity 2.5–3.3 L", variability=lognormal(0.2),
                          description="lung gas volume holding the alveolar O2 store")
    p["O2cap"] = m.parameter("blood_o2_capacity", 1.0, "L",
                             "textbook: 5 L blood × haemoglobin 150 g/L × 1.34 mL O2/g (Hüfner); the O2 that "
                             "haemoglobin releases is this times the fall in saturation", variability=lognormal(0.15),
                             description="O2 bound by haemoglobin at full saturation")
    p["Pdry"] = m.parameter("dry_gas_pressure", 713.0, "mmHg",
                            "barometric 760 mmHg minus water vapour 47 mmHg at 37 °C (PIO2 149 = 0.21 × 713)",
                            description="pressure of dry alveolar gas")
    p["H"] = m.parameter("hypoxic_ventilatory_gain", round(1.12 * 100 / 7.0, 2), "dimensionless",
                         "Teichtahl et al., Chest 2005;128:1339: isocapnic hypoxic ventilatory response of controls "
                         "1.12 L/min per % SpO2 (2.14 in methadone patients, not modelled), over a resting minute "
                         "ventilation of 7 L/min (the module's V0, Bouillon 2003): 16 per unit fall in saturation",
                         variability=lognormal(0.5), description="hypoxic ventilatory response H (per unit SpO2 fall)")
    p["Pmin"] = m.parameter("o2_store_rate_floor", 0.0, "mmHg",
                            "numerical: the O2 store's rates read the alveolar PO2 no lower than this (a solver "
                            "overshoot below 0 recovers instead of meeting the rates' poles)",
                            description="lowest alveolar PO2 the O2-store rates read")
    p["Km"] = m.parameter("o2_uptake_half_pressure", 1.0, "mmHg",
                          "assumed: O2 uptake fails as the alveolar store runs out (a numerical floor well below "
                          "any PaO2 the overdose hazard reads; mitochondrial P50 is < 1 mmHg)",
                          description="alveolar PO2 at half O2 uptake")
    return p


def _drive_parameters(m: Module, drugs) -> dict:
    p = {}
    p["S50"] = m.parameter("vent_s50_naive", round(fentanyl_signal(FENTANYL_C50_NAIVE, drugs), 4), "dimensionless",
                           "Algera et al., Clin Pharmacol Ther 2021 (doi:10.1002/cpt.2027): naïve fentanyl effect-site "
                           "C50 0.42 ng/mL for 50% depression of isohypercapnic ventilation, converted to the linear μ "
                           "signal through the receptors module's fentanyl μ binding (Mann 2022: K 0.118 ng/mL, "
                           "n 0.844): (0.42/0.118)^0.844",
                           variability=lognormal(0.17), description="central μ signal σ50 halving the central drive (naïve)")
    p["gam"] = m.parameter("vent_hill", round(1.25 / FENTANYL_HILL, 4), "dimensionless",
                           "Bouillon et al. 2003: Hill coefficient 1.25 on concentration; the signal σ ∝ C^n "
                           "(fentanyl n 0.844, Mann 2022), so γ = 1.25/0.844 on σ",
                           description="Hill exponent of drive depression in the μ signal")
    p["r"] = m.parameter("resp_tolerance_residual", 0.26792, "dimensionless",
                         "calibrated by opiaxis calibrate respiration.tolerance to Teichtahl 2005 (history: "
                         "data/calibration.yaml): the fraction "
                         "of the drive depression left at steady tolerance, r = k_off/k_on",
                         variability=lognormal(0.3), lower=0.01, upper=1.0,
                         description="residual drive depression under sustained exposure (k_off/k_on)")
    p["k_off"] = m.parameter("resp_tolerance_offset_rate", 0.693 / (3 * 24.0), "1/h",
                             "assumed: t½ 3 days (design memo: 3–5 d). Continuous-fentanyl tolerance persisted "
                             "4–5 days into withdrawal in rats (Marchette et al., JPET 2023;385:117); the fast "
                             "phase of analgesic-tolerance loss (Cox et al., Br J Pharmacol 1975); overdose risk "
                             "is highest in the first 2 weeks after release (Binswanger et al., NEJM 2007;356:157; "
                             "Merrall et al., Addiction 2010;105:1545); no human time course was found",
                             variability=lognormal(0.4), description="rate of losing the fast phase of breathing "
                                                                     "tolerance")
    p["k_off_s"] = m.parameter("resp_tolerance_slow_offset_rate", round(0.693 / (13.2 * 24.0), 6), "1/h",
                               "Cox, Ginsburg, Willis & Davies, Br J Pharmacol 1975 (doi:10.1111/"
                               "j.1476-5381.1975.tb07374.x; abstract read): the slow phase of the "
                               "offset of opioid tolerance (after morphine, methadone or diamorphine, any regimen) "
                               "had a half-time of 13.2 ± 0.53 d in rats (17.4 d in mice); analgesic tolerance, "
                               "taken for breathing (assumed: no respiratory or human time course was found)",
                               variability=lognormal(0.2), description="rate of losing the slow phase of breathing "
                                                                       "tolerance")
    p["sed"] = m.parameter("sedative_odds_shift", 1.0, "dimensionless",
                           "behaviour/experiment input (1 = no sedative on board): the odds of the opioid's depression "
                           "of the central drive are multiplied by it; the behaviour layer sets it per decision "
                           "interval to a sedative co-user's sedative_potency_shift on their sedative days "
                           "(docstring, 7)", lower=1.0, description="sedative's odds shift of the drive depression")
    return p


def build(drugs=None) -> Module:
    m = Module("respiration", __doc__)
    sig = m.input("mor_signal_respiratory", "dimensionless", 0.0, "receptors module (0 when absent)",
                  "μ signal σ at the respiratory μ site (operational model, linear in full-agonist concentration)")
    g, d = _gas_parameters(m), _drive_parameters(m, drugs)
    P = m.state("paco2", "mmHg", g["P0"], "arterial CO2 partial pressure")
    Bf = m.state("resp_tolerance_fast", "dimensionless", 1.0,
                 "fast phase of the breathing-tolerance fold (1 naïve; lost with t½ of days)")
    Bs = m.state("resp_tolerance_slow", "dimensionless", 1.0,
                 "slow phase of the breathing-tolerance fold (1 naïve; lost with t½ of ~2 weeks, Cox 1975)")
    B = m.assign("resp_tolerance_fold", Bf * Bs, "dimensionless",
                 "potency fold Φ_b of μ agonism on the respiratory drive lost to breathing tolerance (1 naïve)")
    m.assign("resp_tolerance_level", 1 - 1 / B, "dimensionless",
             "fraction of the naïve respiratory potency of μ agonism lost to tolerance (0 naïve)", interface=True)
    u = (sig / (B * d["S50"])) ** d["gam"]
    su = d["sed"] * u
    E = m.assign("resp_drive_depression", su / (1 + su), "dimensionless",
                 "depression E of the central respiratory drive by the opioid, deepened by a sedative on board "
                 "(0 none, 1 abolished)", interface=True)
    for X, k_off in ((Bf, d["k_off"]), (Bs, d["k_off_s"])):   # driven by the opioid's own depression (docstring, 7)
        m.ode(X, k_off / d["r"] * u / (1 + u) * X - k_off * (X - 1))
    P0 = g["P0"]
    o = _o2_store_parameters(m)
    PA, PA0 = _o2_state(m, g, P0)
    pao2 = m.assign("pao2", sp.Max(PA - g["AaD"], g["floor"]), "mmHg",
                    "arterial O2 partial pressure (alveolar O2 store minus the A–a gradient)", interface=True)
    spo2 = m.assign("spo2", _severinghaus(pao2, g), "dimensionless",
                    "arterial O2 saturation (Severinghaus 1979), 0…1", interface=True)
    hypoxic = (1 - g["clamp"]) * o["H"] * sp.Max(_severinghaus(sp.Max(PA0 - g["AaD"], g["floor"]), g) - spo2, 0)
    drive = (1 - E) * ((P / P0) ** g["F"] + hypoxic)
    m.ode(P, (1 - g["clamp"]) * g["kel"] * (P0 - drive * P) + g["clamp"] * g["kc"] * (g["Pc"] - P))
    m.assign("ventilation_rel", drive, "dimensionless",
             "minute ventilation as a fraction of the drug-free resting value (CO2 and hypoxic chemoreflexes "
             "included)", interface=True)
    _o2_balance(m, g, o, P0, PA, PA0, drive)
    return m


def _severinghaus(po2, g: dict):
    return 1 / (g["sev_a"] / (po2 ** 3 + g["sev_b"] * po2) + 1)


def _o2_state(m: Module, g: dict, P0):
    PA0 = g["PIO2"] - P0 / g["RQ"]
    return m.state("alveolar_po2", "mmHg", PA0, "alveolar O2 partial pressure (O2 store)"), PA0


def _o2_balance(m: Module, g: dict, o: dict, P0, PA, PA0, vent) -> None:
    """The alveolar O2 store's mass balance (docstring, 5)."""
    # P_A ≥ 0 in the rates: a solver step that overshoots below 0 must not meet the poles of the
    # Severinghaus slope (P_A ≈ −25 mmHg) or of the uptake (P_A = −K_m), which would hold it there
    Pp = sp.Max(PA, o["Pmin"])
    # dS/dP of :func:`_severinghaus` (S = (P³ + bP)/(P³ + bP + a)), in the form without a pole at P = 0
    sat_slope = g["sev_a"] * (3 * Pp ** 2 + g["sev_b"]) / (Pp ** 3 + g["sev_b"] * Pp + g["sev_a"]) ** 2
    cap = o["VL"] / o["Pdry"] + o["O2cap"] * sat_slope
    uptake = (Pp / (Pp + o["Km"])) / (PA0 / (PA0 + o["Km"]))
    m.ode(PA, o["VA0"] / o["Pdry"] * (vent * (g["PIO2"] - PA) - P0 / g["RQ"] * uptake) / cap)
    m.assign("alveolar_o2_deficit", g["PIO2"] - PA, "mmHg",
             "inspired minus alveolar PO2 (P0/RQ at rest; (P0/RQ)/v in a steady state)", interface=True)
