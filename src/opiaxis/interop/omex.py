"""A study as a COMBINE archive (OMEX): SBML models, a SED-ML simulation experiment, a manifest.

What :func:`write_omex` writes, for the typical patient of each arm of a study (the population's
typical parameter values with the study's and the arm's overrides; between-patient variability
is a population concept that SED-ML does not describe):

* ``model_<arm>.xml`` — the composed model as SBML L3V2 (:func:`opiaxis.interop.sbml.to_sbml`)
  with the arm's doses for that patient as events;
* ``simulation.sedml`` — SED-ML L1V4: one uniform time course (0 to the study's horizon, one
  output per sampling interval; CVODE, KISAO:0000019, with the study's relative and absolute
  tolerances), one task per arm, a data generator per arm and output variable, a report per arm
  (time and the study's outputs) and a plot per output with one curve per arm;
* ``manifest.xml`` and ``metadata.rdf`` (COMBINE archive metadata: description, creator, date).

Any SED-ML tool can re-run it: ``tests/test_omex.py`` re-runs it in COPASI (python-copasi,
LSODA), an engine independent of opiaxis and of libRoadRunner, and compares the report with
opiaxis. Needs the ``omex`` extra (python-libsedml, python-libcombine).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..errors import OpiaxisInputError
from .sbml import sbml_id, to_sbml

SBML_FORMAT = "http://identifiers.org/combine.specifications/sbml.level-3.version-2"
SEDML_FORMAT = "http://identifiers.org/combine.specifications/sed-ml.level-1.version-4"
OMEX_FORMAT = "http://identifiers.org/combine.specifications/omex"
CVODE = "KISAO:0000019"
KISAO_RTOL, KISAO_ATOL = "KISAO:0000209", "KISAO:0000211"


def _libs():
    try:
        import libcombine
        import libsedml
    except ImportError:
        raise OpiaxisInputError("python-libsedml and python-libcombine are not installed; "
                                "pip install 'opiaxis[omex]'") from None
    return libsedml, libcombine


_sid = sbml_id


def arm_parameters(study, arm, model) -> np.ndarray:
    """The typical patient's parameter vector of an arm: typical values, the study's overrides,
    then the arm's (as the study's own cohorts apply them, without variability)."""
    from ..population import sample_parameters
    return sample_parameters(model, [study.id_start], study.seed,
                             overrides={**study.parameters, **arm.parameters}, variability=False)[0]


def _target(var: str) -> str:
    return f"/sbml:sbml/sbml:model/sbml:listOfParameters/sbml:parameter[@id='{var}']"


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"libCombine failed to {what}")


def sedml_document(study, arms: list[str], outputs: list[str]) -> str:
    """The SED-ML L1V4 text for ``arms`` (their model files ``model_<arm>.xml``)."""
    libsedml, _ = _libs()
    doc = libsedml.SedDocument(1, 4)
    n_steps = max(1, int(round(study.duration / study.every)))
    sim = doc.createUniformTimeCourse()
    sim.setId("time_course")
    sim.setInitialTime(0.0)
    sim.setOutputStartTime(0.0)
    sim.setOutputEndTime(float(study.duration))
    sim.setNumberOfPoints(n_steps)
    alg = sim.createAlgorithm()
    alg.setKisaoID(CVODE)
    for kisao, value in ((KISAO_RTOL, study.rtol), (KISAO_ATOL, study.atol)):
        ap = alg.createAlgorithmParameter()
        ap.setKisaoID(kisao)
        ap.setValue(repr(float(value)))
    for a in arms:
        sm = doc.createModel()
        sm.setId(f"model_{a}")
        sm.setLanguage("urn:sedml:language:sbml.level-3.version-2")
        sm.setSource(f"model_{a}.xml")
        task = doc.createTask()
        task.setId(f"task_{a}")
        task.setModelReference(f"model_{a}")
        task.setSimulationReference("time_course")
        for var in ["time"] + outputs:
            dg = doc.createDataGenerator()
            dg.setId(f"dg_{a}_{var}")
            dg.setName(f"{var} ({a})")
            v = dg.createVariable()
            v.setId(f"v_{a}_{var}")
            v.setTaskReference(f"task_{a}")
            if var == "time":
                v.setSymbol("urn:sedml:symbol:time")
            else:
                v.setTarget(_target(var))
            dg.setMath(libsedml.parseL3Formula(f"v_{a}_{var}"))
        rep = doc.createReport()
        rep.setId(f"report_{a}")
        rep.setName(f"{study.name}: arm {a}")
        for var in ["time"] + outputs:
            ds = rep.createDataSet()
            ds.setId(f"ds_{a}_{var}")
            ds.setLabel(var)
            ds.setDataReference(f"dg_{a}_{var}")
    for var in outputs:
        plot = doc.createPlot2D()
        plot.setId(f"plot_{var}")
        plot.setName(var)
        for a in arms:
            c = plot.createCurve()
            c.setId(f"curve_{var}_{a}")
            c.setName(a)
            c.setXDataReference(f"dg_{a}_time")
            c.setYDataReference(f"dg_{a}_{var}")
    if doc.getNumErrors(libsedml.LIBSEDML_SEV_ERROR):
        raise RuntimeError(doc.getErrorLog().toString())
    return libsedml.writeSedMLToString(doc)


def write_omex(study, model, path: str | Path) -> Path:
    """Write the study as a COMBINE archive at ``path`` (see the module docstring)."""
    _, libcombine = _libs()
    path = Path(path)
    if path.suffix.lower() != ".omex":
        raise OpiaxisInputError(f"{path.name!r}; expected a file name ending in .omex", file=str(path))
    known = set(model.state_names) | set(model.assignment_index)
    outputs = [o for o in study.outputs if o in known]
    arms = [_sid(a.name) for a in study.arms]
    if len(set(arms)) != len(arms):
        raise OpiaxisInputError("two arms have the same identifier once written as SBML/SED-ML ids "
                                f"({', '.join(a.name for a in study.arms)})", file=study.file, field="arms")
    pid = getattr(study, "id_start", 1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        archive = libcombine.CombineArchive()
        for arm, aid in zip(study.arms, arms):
            doses = arm.doses.for_ids([pid]).expanded() if len(arm.doses) else None
            if doses is not None and not len(doses):
                doses = None
            f = tmp / f"model_{aid}.xml"
            f.write_text(to_sbml(model, arm_parameters(study, arm, model), doses, patient=pid,
                                 model_id=f"{_sid(study.name)}_{aid}"), encoding="utf-8")
            _check(archive.addFile(str(f), f.name, SBML_FORMAT, False), f"add {f.name}")
        sed = tmp / "simulation.sedml"
        sed.write_text(sedml_document(study, arms, outputs), encoding="utf-8")
        _check(archive.addFile(str(sed), sed.name, SEDML_FORMAT, True), "add simulation.sedml")
        desc = libcombine.OmexDescription()
        desc.setAbout(".")
        desc.setDescription(f"opiaxis study {study.name!r}: {study.description or ''} — the typical "
                            f"patient of each arm ({', '.join(a.name for a in study.arms)}), "
                            f"{study.duration:g} h, outputs {', '.join(outputs)}")
        now = libcombine.OmexDescription.getCurrentDateAndTime()
        desc.setCreated(now)
        creator = libcombine.VCard()
        creator.setOrganization("opiaxis")
        desc.addCreator(creator)
        archive.addMetadata(".", desc)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        _check(archive.writeToFile(str(part)), f"write {part}")
        archive.cleanUp()
        part.replace(path)
    return path
