"""Describe a composed model as Markdown: every module, state, parameter (value, unit, source,
variability), interface variable, coupling and dosing compartment."""

from __future__ import annotations

from .model.core import Model


def _esc(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def describe_markdown(m: Model) -> str:
    out = [f"# Model `{m.name}`", "",
           f"{len(m.modules)} modules, {len(m.states)} states, {len(m.parameters)} parameters, "
           f"{len(m.assignments)} assignments, {len(m.couplings)} couplings, {len(m.dose_targets)} dosing compartments. "
           "Time in hours.", ""]
    out += ["## Couplings (interface variables)", "", "| variable | from | to | unit |", "|---|---|---|---|"]
    out += [f"| `{c.variable}` | {c.provider} | {c.consumer} | {c.unit} |" for c in m.couplings]
    for mod in m.modules:
        out += ["", f"## Module `{mod.name}`", "", (mod.doc or "").strip(), ""]
        if mod.states:
            out += ["### States", "", "| state | unit | initial | description |", "|---|---|---|---|"]
            out += [f"| `{s.name}` | {s.unit} | {_esc(s.initial)} | {_esc(s.description)} |" for s in mod.states.values()]
        inter = [a for a in mod.assignments.values() if a.interface]
        if inter:
            out += ["", "### Interface variables", "", "| variable | unit | description |", "|---|---|---|"]
            out += [f"| `{a.name}` | {a.unit} | {_esc(a.description)} |" for a in inter]
        if mod.parameters:
            out += ["", "### Parameters", "", "| parameter | value | unit | variability | source |", "|---|---|---|---|---|"]
            out += [f"| `{p.name}` | {p.value:.6g} | {p.unit} | {p.variability.describe() if p.variability else '—'} | {_esc(p.source)} |"
                    for p in mod.parameters.values()]
        if mod.dose_targets:
            out += ["", "### Dosing compartments (CMT)", "", "| CMT | state | bioavailability | lag |", "|---|---|---|---|"]
            out += [f"| `{d.name}` | `{d.state}` | {d.bioavailability or '1'} | {d.lag or '—'} |" for d in mod.dose_targets.values()]
    return "\n".join(out) + "\n"
