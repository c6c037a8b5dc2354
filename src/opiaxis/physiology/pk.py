"""pk — compartmental pharmacokinetics of every drug in the library, with effect sites.

For each drug (``data/drugs.yaml``): a central compartment and up to two peripheral ones
(linear mammillary model, amounts in mg), one depot per extravascular route (first-order
absorption with bioavailability F and optional lag; zero-order input such as a transdermal
patch is a RATE on the depot), metabolite formation as a fraction of the parent's clearance
(amounts scaled by the molecular-weight ratio), presystemic (first-pass) metabolite formation
for oral routes that declare it — the depot then holds the whole dose, a fraction F reaches the
circulation as parent and a fraction f_m of the rest as each metabolite — and — for drugs that
enter the brain — an
effect-site concentration with first-order equilibration ke0 (Sheiner et al., Clin Pharmacol
Ther 1979;25:358). Parameter values and their sources are in the drug library.

Gut-wall exposure of swallowed drugs (twelfth session, 2026-11-30). A swallowed drug reaches the
enteric μ receptors from the absorbing side, before the liver: oral naloxone (systemic F ~2%, Smith et
al., Int J Clin Pharmacol Ther 2012) relieves opioid-induced constipation without reversing analgesia
(Meissner et al., Pain 2000;84:105: 3–12 mg tid, laxation days 2.1 → 3.5 per 6 days, pain unchanged;
Culpepper-Morgan et al., Clin Pharmacol Ther 1992;52:90; at higher doses it reaches the brain: Liu &
Wittbrodt, J Pain Symptom Manage 2002;23:48), the basis of prolonged-release oxycodone/naloxone, and
loperamide acts on the gut alone. A transdermal or parenteral drug reaches the gut wall only from the
circulation. Mass balance over the intestinal wall, perfused by the mesenteric blood flow Q and
taken as well stirred (the "traditional" intestinal model of Pang's comparison, Drug Metab Dispos
2012;40:1869, in which the whole intestinal flow perfuses the whole wall; assumed, it averages the
absorbing segment with the rest of the wall)::

    C_wall = C_plasma + J_wall/Q ;  J_wall = ka·depot (depot holding the whole dose: first-pass routes
             and those with an apparent F of 1), ka·depot/F (depot holding the systemic fraction F)

J_wall is the parent crossing the wall: the swallowed dose is taken as completely absorbed and F as
lost to first pass after the wall (high-permeability drugs; naloxone: Fishman et al., J Pharm Sci
1973;62:1416), so ∫ J_wall dt is the whole dose. Gut-wall metabolism is not subtracted (an upper bound
for morphine, glucuronidated partly in the enterocytes). ``<drug>_gut_wall`` exists for drugs with a
swallowed route (``Route.enteral``); the receptors module's enteric site reads it in place of plasma.

Interface variables: ``<drug>_plasma`` (ng/mL), ``<drug>_effect`` (ng/mL, brain-penetrant
drugs only) and ``<drug>_gut_wall`` (ng/mL, swallowed drugs only), consumed by the receptor module.
"""

from __future__ import annotations

import sympy as sp

from ..model.core import Module, lognormal
from .drugs import Drug, Quantity, load_drugs

# routes that the regimen shorthand delivers as a zero-order input onto the depot
ZERO_ORDER_ROUTES = ("transdermal",)


def _par(m: Module, name: str, q: Quantity, description: str = "", *, vary: bool = True, **kw) -> sp.Symbol:
    var = lognormal(q.cv) if (vary and q.cv) else None
    return m.parameter(name, q.value, q.unit, q.source, variability=var, description=description, **kw)


def _wall_flux(name: str, rname: str, r, depot_flux: sp.Expr) -> sp.Expr:
    """The parent drug (mg/h) crossing the intestinal wall while a swallowed dose is absorbed. Complete
    absorption of the swallowed dose is assumed (the opioids and their antagonists are high-permeability
    compounds whose oral F is limited by first-pass metabolism, not by absorption), so everything the route
    does not deliver to the circulation was lost after crossing the wall: a depot holding the whole dose
    (``first_pass`` routes) passes its whole flux, one that holds only the bioavailable fraction F (the
    engine scales the dose) passes flux/F. A dose-dependent F (``dose_exponent``) is not supported here."""
    if r.first_pass or r.bioavailability is None:
        return depot_flux
    if r.dose_exponent is not None:
        raise ValueError(f"{name}.{rname}: an enteral route with a dose-dependent bioavailability has no gut-wall flux")
    return depot_flux / sp.Symbol(f"{name}_{rname}_F", real=True)


def build(drugs: dict[str, Drug] | None = None, names: list[str] | None = None) -> Module:
    drugs = drugs or load_drugs()
    names = names or list(drugs)
    m = Module("pk", __doc__)
    conv = m.parameter("conc_per_amount_per_volume", 1000.0, "ng/mL/(mg/L)",
                       "unit identity: 1 mg/L = 1000 ng/mL", description="unit conversion")
    q_mes = None
    if any(r.enteral for n in names for r in drugs[n].routes.values()):
        q_mes = m.parameter("mesenteric_blood_flow", 22.7, "L/h",
                            "superior mesenteric artery flow at rest, fasting, 6.3 ± 2.6 mL/s by duplex ultrasound in 20 "
                            "healthy adults (rising to 20.3 mL/s 45 min after a 1000 kcal meal): 'Measurement of mesenteric "
                            "blood flow by duplex scanning' (abstract read via discovery.researcher.life; authors, journal and "
                            "year not read). The fasting value (the smaller flow, the "
                            "larger gut-wall excess; a meal would cut it ~3-fold) for the whole intestinal wall (the "
                            "inferior mesenteric territory of the distal colon not added: assumed small)",
                            description="blood flow draining the absorbing intestinal wall into the portal vein")
        f_q = m.parameter("enterocyte_flow_fraction", 0.1, "dimensionless",
                          "segregated-flow intestinal model (SFM; thirteenth session, measured variant): only a fraction "
                          "f_Q of the intestinal blood flow perfuses the enterocyte region that receives the absorbed "
                          "drug, the rest perfusing the serosal region (submucosa, muscularis, serosa) with arterial "
                          "blood. f_Q = 0.1 as assigned by Cong, Doherty & Pang (Drug Metab Dispos 2000;28:224, table 1: "
                          "Q_en = 0.1·Q_I); 0.05–0.3 stipulated and 0.024–0.2 found under varying conditions (Pang & "
                          "Chow, Drug Metab Dispos 2012;40:1869, abstract); < 20% (Pang, Pharmaceutics 2020;12:312). "
                          "f_Q = 1 is the well-stirred ('traditional') wall of the twelfth session",
                          lower=0.0, upper=1.0,
                          description="share of the intestinal blood flow perfusing the absorbing enterocyte region")
        q_mes = q_mes * f_q
    central: dict[str, tuple[sp.Symbol, sp.Symbol, sp.Symbol]] = {}
    first_pass_flux: list[tuple[str, sp.Expr, str]] = []  # (metabolite, flux of parent mg/h, parent)
    for name in names:
        d = drugs[name]
        a1 = m.state(f"{name}_central", "mg", 0.0, f"{name} amount in the central compartment")
        v1 = _par(m, f"{name}_V1", d.central_volume, f"{name} central volume")
        cl = _par(m, f"{name}_CL", d.clearance, f"{name} elimination clearance")
        _par(m, f"{name}_mw", d.mw, f"{name} molecular weight", vary=False)
        if d.iu_per_mg is not None:
            _par(m, f"{name}_iu_per_mg", d.iu_per_mg, f"{name} international units per mg", vary=False)
        central[name] = (a1, v1, cl)
        cp = m.assign(f"{name}_plasma", conv * a1 / v1, "ng/mL", f"{name} plasma concentration", interface=True)
        flux = -cl / v1 * a1
        wall_flux: list[sp.Expr] = []  # mg/h of parent crossing the intestinal wall (enteral routes)
        for k, (vq, qq) in enumerate(d.peripherals, start=1):
            ap = m.state(f"{name}_periph{k}", "mg", 0.0, f"{name} amount in peripheral compartment {k}")
            vp = _par(m, f"{name}_V{k + 1}", vq, f"{name} peripheral volume {k}")
            q = _par(m, f"{name}_Q{k}", qq, f"{name} intercompartmental clearance {k}")
            flux += q * (ap / vp - a1 / v1)
            m.ode(ap, q * (a1 / v1 - ap / vp))
        for rname, r in d.routes.items():
            target = f"{name}.{rname}"
            if not r.absorbed:
                m.dose_target(target, a1, description=f"{name} {rname} bolus/infusion into central")
                continue
            dep = m.state(f"{name}_depot_{rname}", "mg", 0.0, f"{name} {rname} absorption depot")
            ka = _par(m, f"{name}_{rname}_ka", r.ka, f"{name} {rname} absorption rate")
            m.ode(dep, -ka * dep)
            kw = {}
            if r.enteral:
                wall_flux.append(_wall_flux(name, rname, r, ka * dep))
            if r.first_pass:
                F = _par(m, f"{name}_{rname}_F", r.bioavailability, f"{name} {rname} bioavailability (parent)",
                         lower=0.0, upper=1.0)
                flux += F * ka * dep
                for met, frac in r.first_pass:
                    if met in names:
                        fm = _par(m, f"{name}_{rname}_first_pass_to_{met}", frac,
                                  f"fraction of the non-bioavailable {name} {rname} dose reaching the circulation as {met}", vary=False)
                        first_pass_flux.append((met, fm * (1 - F) * ka * dep, name))
            else:
                flux += ka * dep
            if r.bioavailability is not None and not r.first_pass:
                _par(m, f"{name}_{rname}_F", r.bioavailability, f"{name} {rname} bioavailability",
                     lower=0.0, upper=1.0)
                kw["bioavailability"] = f"{name}_{rname}_F"
            if r.lag is not None:
                _par(m, f"{name}_{rname}_lag", r.lag, f"{name} {rname} absorption lag")
                kw["lag"] = f"{name}_{rname}_lag"
            if r.dose_exponent is not None:
                _par(m, f"{name}_{rname}_F_dose_exponent", r.dose_exponent, "exponent of dose-dependent F", vary=False)
                _par(m, f"{name}_{rname}_F_reference_dose", r.reference_dose, "reference dose of dose-dependent F", vary=False)
                kw["dose_exponent"] = f"{name}_{rname}_F_dose_exponent"
                kw["reference_dose"] = f"{name}_{rname}_F_reference_dose"
            m.dose_target(target, dep, description=f"{name} {rname} depot", **kw)
        central[name] = (a1, v1, cl, flux)
        if wall_flux:
            m.assign(f"{name}_gut_wall", cp + conv * sp.Add(*wall_flux) / q_mes, "ng/mL",
                     f"{name} concentration in the absorbing enterocyte region (plasma + the absorbing flux over "
                     "the enterocyte-region blood flow f_Q·Q)", interface=True)
        if d.brain_entry and d.ke0 is not None:
            ce = m.state(f"{name}_effect", "ng/mL", 0.0, f"{name} effect-site (biophase) concentration")
            ke0 = _par(m, f"{name}_ke0", d.ke0, f"{name} effect-site equilibration rate")
            m.ode(ce, ke0 * (cp - ce))
    # metabolite formation (after all drugs exist)
    for name in names:
        d = drugs[name]
        a1, v1, cl, flux = central[name]
        m.ode(a1, flux)
    for name in names:
        d = drugs[name]
        for met, frac in d.metabolites:
            if met not in names:
                continue
            f = _par(m, f"{name}_to_{met}_fraction", frac, f"fraction of {name} clearance forming {met}", vary=False)
            pa1, pv1, pcl, _ = central[name]
            mw_ratio = sp.Symbol(f"{met}_mw", real=True) / sp.Symbol(f"{name}_mw", real=True)
            m.odes[f"{met}_central"] = m.odes[f"{met}_central"] + f * pcl / pv1 * pa1 * mw_ratio
    for met, flux_parent, parent in first_pass_flux:
        mw_ratio = sp.Symbol(f"{met}_mw", real=True) / sp.Symbol(f"{parent}_mw", real=True)
        m.odes[f"{met}_central"] = m.odes[f"{met}_central"] + flux_parent * mw_ratio
    return m
