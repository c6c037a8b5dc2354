"""receptors — competitive binding of every ligand at central and enteric opioid receptors.

Sites: central μ (``mor_central``), enteric μ (``mor_enteric``), and central κ, δ and NOP.
All ligands compete for the same receptor pool (fractional occupancies add to at most 1).

* **Kinetic** ligands (slow or clinically decisive binding: buprenorphine, fentanyl, naloxone —
  the FDA binding set, Mann et al. Clin Pharmacol Ther 2022;112:1020) have a bound-fraction
  state:  dRL_k/dt = kon_k·C_k^n_k·R_free − koff_k·RL_k, written as koff·(C/K)^n·R_free − koff·RL
  with K = (koff/kon)^(1/n), so the parameters are the dissociation constant and koff.
* **Equilibrium** ligands bind at quasi-steady state: x_i = (C_i/K_i)^n_i and RL_i = x_i·R_free,
  with R_free = (1 − Σ_k RL_k)/(1 + Σ_i x_i), which is the exact competitive solution when the
  equilibrium ligands are fast relative to the kinetic ones.

* **Noncompetitive** (insurmountable) antagonists — naldemedine (Schild analysis and binding
  kinetics: Kanemasa et al., J Pharmacol Exp Ther 2020) — take receptors out of the pool whatever
  the agonist concentration: f_j = x_j/(1 + x_j), and every competitive and kinetic ligand binds
  within the remaining fraction Π(1 − f_j). Their block is therefore not overcome by a higher
  opioid dose (Kanemasa 2020: naldemedine's dose–response on intestinal transit did not shift
  between morphine 1 and 3 mg/kg, naloxegol's did).

Central sites see the effect-site (biophase) concentration, so peripherally restricted drugs
(PAMORAs) never reach them; the enteric μ site sees plasma concentration and binds every μ
ligand at equilibrium. Each site has its own dissociation constant: the library gives the
receptor's constant (in vitro Ki over the plasma unbound fraction, or a kinetic kon/koff set),
which the enteric site uses as it is, and the drug's unbound brain-to-plasma ratio Kp,uu
(``brain_penetration``: below 1 for P-gp substrates such as morphine and 6β-naltrexol; 1 where
passive, or where the library still lacks a drug's peripherally active metabolites, as for
oxycodone), which divides it for the central sites, whose effect-site
concentration is plasma-equivalent (Hammarlund-Udenaes et al., Pharm Res 2008;25:1737: the
unbound brain concentration, not plasma, drives central occupancy). A drug that barely enters the
brain is therefore a weak central but a full-strength enteric ligand. Where the library gives an
agonist's functional enteric potency (``enteric_affinity``: morphine and M6G, whose [3H]DAMGO binding
constants overstate the myenteric tissue potency ~70-fold), the enteric site uses that instead; the
central sites never read it.

Agonism (signal) and occupancy are distinct outputs. Occupancy is binding: it governs competition
(naloxone, naltrexone, buprenorphine displacement, endogenous peptides) and what a PET tracer sees.
The central μ signal follows the operational model (Black & Leff, Proc R Soc B 1983;220:141,
doi:10.1098/rspb.1983.0093): a full agonist acts with a receptor reserve, its transducer ratio τ
(``tau`` in the drug library, 1 where absent) relating its binding constant to its potency,
K^bind = τ·K^app. The library's affinity of a full agonist with τ is the apparent (potency)
constant K^app, anchored to effect data (methadone: Gourlay's minimum effective concentrations);
its receptors bind at K^bind, so its occupancy is τ-fold lower at the same effect (high receptor
reserve of methadone: Melichar et al., JPET 2005;312:309; Hume et al., JPET 2007;322:661).

* ``mor_signal_central`` σ, linear in agonist concentration (no bound, no compression):
  σ = Σ_full τ_i·ρ_i/(1 − ρ_F) + Σ_partial τ_i·ρ_i, where ρ_F is the summed occupancy of the full
  agonists. For one full agonist alone σ = τ·C/K^bind = C/K^app; a competitive antagonist at
  occupancy odds x_B divides it by 1 + x_B (Gaddum/Schild), a kinetic blocker's bound fraction RL
  turns it into x·(1 − RL)/(1 + x·RL) (x = C/K^app at τ = 1), so both reverse the signal as they
  occupy receptors. A partial agonist's
  signal is bounded by its τ at full occupancy (buprenorphine's ceiling). Respiration reads σ of the
  respiratory site (below).
* ``mor_agonism_central`` A (0…1), the occupancy-equivalent signalling read by adaptation, reward,
  pain, mood, HPA and endogenous modules: A = (ρ_free + ρ_F + ρ_B)·S/(ρ_free + ρ_B + S)
  + Σ_partial efficacy_i·ρ_i with S = Σ_full τ_i·ρ_i and ρ_B the summed occupancy of the
  competitive antagonists (efficacy 0): the occupancy that a τ = 1 agonist of the same potency
  would have among the receptors not held by partial agonists (bounded: A ≤ 1 in any mixture).
  With τ = 1 for every full agonist this is exactly the efficacy-weighted occupancy
  Σ efficacy_i·ρ_i; a full agonist with τ gives the occupancy its potency constant K^app alone
  would give, so lowering methadone's binding occupancy moves no signalling calibration for
  methadone alone (it moves its competition with other ligands). Against a competitive antagonist
  the agonist's odds S/(ρ_free + ρ_B) = σ are divided by 1 + x_B, the same Gaddum shift as σ, so a
  high-reserve agonist (methadone, τ 100) keeps the response its potency gives (A = σ/(1 + σ)
  without partial agonists). Until 2026-11-30 the antagonist's receptors were taken out of the
  pool, A ≤ 1 − ρ_B (insurmountable, as a noncompetitive antagonist is): naloxone 0.4 mg IV at
  87% occupancy then cut a methadone 80 mg patient's load 250-fold while σ fell 11-fold, and
  precipitated withdrawal lasted ~5 h instead of 30–60 min (pred.wd.naloxone_duration).

The **respiratory μ site** (``mor_respiratory``; 2026-11-30): the μ receptors of the brainstem respiratory
network (preBötzinger complex, Kölliker-Fuse/parabrachial nuclei), which whole-brain PET barely samples. Every
central μ ligand binds there with its central constants (the same parameters), with bound-fraction states and
a free fraction of the site's own, and the site gives the σ that respiration reads (``mor_signal_respiratory``).
A ligand whose library entry gives in-vivo kinetics fitted to ventilation (``respiratory``) binds there with
them: buprenorphine, kon 0.203 mL/ng/min, koff 0.0172/min (KD 0.085 ng/mL, dissociation t½ 40 min; Yassen et
al., Clin Pharmacokinet 2007;46:965), against the central 0.67 ng/mL of PET (Nasser 2014) and the analgesic
1.24 ng/mL, t½ 9 min (Yassen 2006). Buprenorphine then holds most respiratory receptors at doses that hold a
fifth of the brain's, so its partial agonism (σ ≤ τ) shows as a plateau of ventilation at analgesic doses
(Dahan et al., Br J Anaesth 2005;94:825), and naloxone, which binds only receptors buprenorphine has released,
reverses it slowly (van Dorp et al., Anesthesiology 2006;105:51). Why the constants differ (regional receptor
populations, OUD patients' PET against volunteers' ventilation, the agonist high-affinity state) is not
resolved; the site takes the ventilation-derived constants as a property of the respiratory network
(assumed). Without such a ligand the respiratory σ equals the central one.

Hill exponents other than 1 are evaluated as C/K·(C/K + ε)^(n−1) with ε = 1e-6 — identical to
(C/K)^n to better than 1e-6 relative for C > 1e-3·K, but Lipschitz at C = 0 so that a stiff
solver is not forced into tiny steps when a drug first appears (assumed: numerical
regularisation, no physiological content).
"""

from __future__ import annotations

import sympy as sp

from ..model.core import Module
from .drugs import Drug, load_drugs

EPS = sp.Float(1e-6)

SITE_INTERFACE = {
    "mor_central": ("mu", True, "mor"),
    "mor_enteric": ("mu", False, "mor_enteric"),
    "kor_central": ("kappa", True, "kor"),
    "dor_central": ("delta", True, "dor"),
    "nop_central": ("nop", True, "nop"),
}


def _hill(c, k, n):
    u = c / k
    return u if n == 1 else u * (u + EPS) ** (n - 1)


def _kp_note(d: Drug) -> str:
    kp = d.brain_penetration
    if kp.value == 1.0:
        return f". Central = site constant (Kp,uu,brain 1: {kp.source})"
    return f". Central = site constant / Kp,uu,brain {kp.value:g} ({kp.source})"


def _tau_parameter(m: Module, name: str, site_name: str, b) -> sp.Symbol | None:
    """The operational-model transducer ratio τ of a ligand at a site, when the library gives one."""
    if b.tau is None:
        return None
    return m.parameter(f"{name}_{site_name}_tau", b.tau.value, "dimensionless", b.tau.source,
                       description=f"operational-model transducer ratio τ of {name} at {site_name}")


def _mu_signal(m: Module, agonists, drugs, taus: dict, free, site: str = "central") -> None:
    """The μ signal σ (linear) and, at the central site, the occupancy-equivalent agonism A (for the
    signalling modules) from the occupancies, efficacies and transducer ratios (module docstring).
    A partial agonist without a τ in the library signals its efficacy's odds, τ = e/(1 − e). The
    respiratory site gives σ only (``mor_signal_respiratory``, read by respiration)."""
    full = [(n, occ) for n, occ, eff in agonists if float(drugs[n].receptors["mu"].efficacy.value) == 1.0]
    partial = [(n, occ, eff) for n, occ, eff in agonists if 0.0 < float(drugs[n].receptors["mu"].efficacy.value) < 1.0]
    antagonists = [occ for n, occ, eff in agonists if float(drugs[n].receptors["mu"].efficacy.value) == 0.0]
    rho_antag = sp.Add(*antagonists) if antagonists else sp.Integer(0)
    rho_full = sp.Add(*[occ for _, occ in full]) if full else sp.Integer(0)
    s_tau = sp.Add(*[taus.get(n, 1) * occ for n, occ in full]) if full else sp.Integer(0)
    # 1 − ρ_F > 0 whenever any receptor is free; the floor only guards round-off at saturation
    sigma_full = s_tau / sp.Max(1 - rho_full, sp.Float(1e-12)) if full else sp.Integer(0)
    part = []
    for n, occ, eff in partial:
        e = float(drugs[n].receptors["mu"].efficacy.value)
        part.append((taus.get(n, sp.Float(e / (1 - e))) * occ, eff * occ))
    m.assign(f"mor_signal_{site}", sigma_full + sp.Add(*[t for t, _ in part]), "dimensionless",
             f"{site} μ signal σ (operational model; linear in full-agonist concentration: C/K^app)", interface=True)
    if site != "central":
        return
    # occupancy-equivalent: the occupancy a τ = 1 agonist of the same potency would have, within the receptors not held
    # by partial agonists (free + ρ_F + ρ_B): odds S/(free + ρ_B) against the competitive antagonists, i.e. the same
    # Gaddum shift as σ (= ρ_F exactly when every τ is 1); bounded, so A ≤ 1 with a partial agonist too
    a_full = (free + rho_full + rho_antag) * s_tau / (free + rho_antag + s_tau) if full else sp.Integer(0)
    m.assign("mor_agonism_central", a_full + sp.Add(*[a for _, a in part]), "dimensionless",
             "central μ agonist signal, occupancy-equivalent (efficacy-weighted occupancy when every τ is 1)",
             interface=True)


def _site_outputs(m: Module, site_name: str, prefix: str, kinetic, equilibrium, noncomp, drugs, taus) -> None:
    """One site's free fraction, occupancies (binding kinetics of the kinetic ligands), total
    occupancy and agonist signal (the central μ site's through :func:`_mu_signal`)."""
    sum_x = sp.Add(*[x for _, x, _ in equilibrium]) if equilibrium else sp.Integer(0)
    sum_k = sp.Add(*[rl for _, rl, *_ in kinetic]) if kinetic else sp.Integer(0)
    active = sp.Mul(*[1 / (1 + x) for _, x in noncomp]) if noncomp else sp.Integer(1)
    free = m.assign(f"{prefix}_free", (1 - sum_k) / (1 + sum_x) * active, "dimensionless",
                    f"fraction of {site_name} receptors free")
    occ_terms, ago_terms, agonists = [], [], []
    for name, rl, kd, koff, c, hill, eff in kinetic:
        # kon·C^n = koff·(C/K)^n with K = (koff/kon)^(1/n): parameterised by K and koff
        m.ode(rl, koff * _hill(c, kd, hill) * free - koff * rl)
        occ = m.assign(f"{prefix}_occupancy_{name}", rl, "dimensionless", f"{site_name} occupancy by {name}")
        occ_terms.append(occ)
        ago_terms.append(eff * occ)
        agonists.append((name, occ, eff))
    for name, x, eff in equilibrium:
        occ = m.assign(f"{prefix}_occupancy_{name}", x * free, "dimensionless", f"{site_name} occupancy by {name}")
        occ_terms.append(occ)
        ago_terms.append(eff * occ)
        agonists.append((name, occ, eff))
    for name, x in noncomp:
        # receptors held by the insurmountable antagonist, of those no other noncompetitive one holds
        occ = m.assign(f"{prefix}_occupancy_{name}", x * active, "dimensionless",
                       f"{site_name} receptors held by {name} (noncompetitive)")
        occ_terms.append(occ)
    m.assign(f"{prefix}_occupancy" if prefix != "mor" else "mor_occupancy_central", sp.Add(*occ_terms),
             "dimensionless", f"total {site_name} occupancy", interface=True)
    if site_name in ("mor_central", "mor_respiratory"):
        _mu_signal(m, agonists, drugs, taus, free, site_name.split("_", 1)[1])
    else:
        m.assign(f"{prefix}_agonism", sp.Add(*ago_terms),
                 "dimensionless", f"{site_name} agonist signal (efficacy-weighted occupancy)", interface=True)


def _respiratory_kinetic(m: Module, kinetic, drugs) -> list:
    """The kinetic ligands of the respiratory μ site: a bound-fraction state of their own, with the central
    site's constants (the same parameters) unless the library gives in-vivo kinetics fitted to ventilation
    (``respiratory``: buprenorphine, Yassen 2007). Equilibrium and noncompetitive ligands bind there with
    their central expressions, against the site's own free fraction."""
    out = []
    for name, _, kd, koff, c, hill, eff in kinetic:
        b = drugs[name].receptors["mu"]
        if b.respiratory_kon is not None:
            kd = m.parameter(f"{name}_mor_respiratory_K", b.respiratory_dissociation_constant(), "ng/mL",
                             f"(koff/kon)^(1/n) from kon = {b.respiratory_kon.value:.4g} {b.respiratory_kon.unit}: "
                             f"{b.respiratory_kon.source}. In vivo, against the effect-site concentration: used as it is",
                             description=f"{name} apparent dissociation constant at the respiratory μ site")
            koff = m.parameter(f"{name}_mor_respiratory_koff", b.respiratory_koff.value, b.respiratory_koff.unit,
                               b.respiratory_koff.source, description=f"{name} dissociation rate at the respiratory μ site")
        rl = m.state(f"{name}_mor_respiratory_bound", "dimensionless", 0.0,
                     f"fraction of respiratory μ receptors bound by {name}")
        out.append((name, rl, kd, koff, c, hill, eff))
    return out


def build(drugs: dict[str, Drug] | None = None, names: list[str] | None = None) -> Module:
    drugs = drugs or load_drugs()
    names = names or list(drugs)
    m = Module("receptors", __doc__)
    m.parameter("buprenorphine_pet_max_displacement", 0.914, "dimensionless",
                "Nasser et al., Clin Pharmacokinet 2014;53:813 (Emax 91.4% of whole-brain [11C]carfentanil "
                "binding displaceable by buprenorphine; read via stanpumpR, UNCONFIRMED against the paper). "
                "Naltrexone 50 mg reaches 92-98% (Rabiner 2011), so the ceiling is not applied to other ligands",
                description="largest fraction of whole-brain PET μ binding that buprenorphine displaces")
    conc_inputs: dict[str, sp.Symbol] = {}

    def conc(drug: str, central: bool) -> sp.Symbol:
        key = f"{drug}_effect" if central else f"{drug}_plasma"
        if key not in conc_inputs:
            conc_inputs[key] = m.input(key, "ng/mL", 0.0, "pk module (0 when the drug is absent)",
                                       f"{drug} {'effect-site' if central else 'plasma'} concentration")
        return conc_inputs[key]

    taus: dict[str, sp.Symbol] = {}
    for site_name, (site, central, prefix) in SITE_INTERFACE.items():
        kinetic, equilibrium, noncomp = [], [], []
        for name in names:
            d = drugs[name]
            b = d.receptors.get(site)
            if b is None:
                continue
            if central and not (d.brain_entry and d.ke0 is not None):
                continue
            hill = float(b.hill.value)
            c = conc(name, central)
            eff = m.parameter(f"{name}_{site_name}_efficacy", b.efficacy.value, "dimensionless", b.efficacy.source,
                              description=f"intrinsic efficacy of {name} at {site_name}", lower=0.0, upper=1.0)
            kp_note = _kp_note(d) if central else ""
            k_site = d.central_dissociation_constant(site) if central else b.enteric_dissociation_constant()
            if b.kind == "kinetic" and central:
                kd = m.parameter(f"{name}_{site_name}_K", k_site, "ng/mL",
                                 f"(koff/kon)^(1/n) from kon = {b.kon.value:.4g} {b.kon.unit}: {b.kon.source}{kp_note}",
                                 description=f"{name} apparent dissociation constant at {site_name}")
                koff = m.parameter(f"{name}_{site_name}_koff", b.koff.value, b.koff.unit, b.koff.source,
                                   description=f"{name} dissociation rate at {site_name}")
                rl = m.state(f"{name}_{site_name}_bound", "dimensionless", 0.0,
                             f"fraction of {site_name} receptors bound by {name}")
                kinetic.append((name, rl, kd, koff, c, hill, eff))
                if site_name == "mor_central" and (tau := _tau_parameter(m, name, site_name, b)) is not None:
                    taus[name] = tau
            else:
                src = b.affinity.source if b.kind == "equilibrium" else \
                    f"(koff/kon)^(1/n) from the kinetic set: {b.kon.source}"
                if not central and b.enteric_affinity is not None:
                    src = f"enteric functional constant: {b.enteric_affinity.source}"
                nc = b.antagonism == "noncompetitive"
                if nc:
                    src = f"{src}. Noncompetitive (insurmountable) binding: {b.antagonism_source}"
                k = m.parameter(f"{name}_{site_name}_K", k_site, "ng/mL", src + kp_note,
                                description=f"{name} apparent dissociation constant at {site_name}"
                                            + (" (noncompetitive antagonist)" if nc else ""))
                tau = _tau_parameter(m, name, site_name, b) if site_name == "mor_central" else None
                if tau is not None:
                    taus[name] = tau
                k_bind = k * tau if tau is not None and b.efficacy.value == 1.0 else k
                if nc:
                    noncomp.append((name, _hill(c, k, hill)))
                else:
                    equilibrium.append((name, _hill(c, k_bind, hill), eff))
        if not kinetic and not equilibrium and not noncomp:
            continue
        _site_outputs(m, site_name, prefix, kinetic, equilibrium, noncomp, drugs, taus)
        if site_name == "mor_central":
            _site_outputs(m, "mor_respiratory", "mor_resp", _respiratory_kinetic(m, kinetic, drugs), equilibrium,
                          noncomp, drugs, taus)
    ceiling = sp.Symbol("buprenorphine_pet_max_displacement", real=True)
    occ_bup = sp.Symbol("mor_occupancy_buprenorphine", real=True) if "buprenorphine" in names else sp.Integer(0)
    m.assign("mor_availability_pet",
             1 - sp.Symbol("mor_occupancy_central", real=True) + (1 - ceiling) * occ_bup, "dimensionless",
             "whole-brain μ-receptor availability relative to drug-free baseline, as a [11C]carfentanil PET scan measures it",
             interface=True)
    return m
