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

Interface variables: ``<drug>_plasma`` (ng/mL) and ``<drug>_effect`` (ng/mL, brain-penetrant
drugs only), consumed by the receptor module.
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


def build(drugs: dict[str, Drug] | None = None, names: list[str] | None = None) -> Module:
    drugs = drugs or load_drugs()
    names = names or list(drugs)
    m = Module("pk", __doc__)
    conv = m.parameter("conc_per_amount_per_volume", 1000.0, "ng/mL/(mg/L)",
                       "unit identity: 1 mg/L = 1000 ng/mL", description="unit conversion")
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
