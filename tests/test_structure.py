"""The upper floors keep the shape of the ground floor: functions a reader can hold in their head,
no private names imported across packages, no import cycles (scripts/check_structure.py)."""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "check_structure", Path(__file__).resolve().parents[1] / "scripts" / "check_structure.py")
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

UPPER_FLOORS = ("opiaxis.study", "opiaxis.report", "opiaxis.behaviour.trialfile", "opiaxis.cli.core",
                "opiaxis.cli.behaviour", "opiaxis.cli.common", "opiaxis.streams", "opiaxis.durations")


@pytest.fixture(scope="module")
def mods():
    return check.modules()


def test_no_function_over_100_lines_in_the_upper_floors(mods):
    long = [(n, q) for n, q in check.long_functions(mods, 100) if q.startswith(UPPER_FLOORS)]
    assert not long, long


def test_no_private_names_imported_across_packages(mods):
    assert check.private_imports(mods) == []


def test_no_import_cycles(mods):
    assert check.module_cycles(mods) == []
    assert check.package_cycles(mods) == []


def test_the_checks_can_fail(tmp_path):
    """A long function, a private import across packages and a cycle are found."""
    pkg = tmp_path / "opiaxis"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("from ..b import _hidden\n")
    (pkg / "b.py").write_text("from .a import x\n_hidden = 1\ndef f():\n" + "    y = 1\n" * 120)
    m = check.modules(tmp_path)
    assert check.private_imports(m) == ["opiaxis.a imports opiaxis.b:_hidden"]
    assert check.long_functions(m, 100)[0][1] == "opiaxis.b.f"
    assert check.module_cycles(m) == [["opiaxis.a", "opiaxis.b"]]
    assert check.package_cycles(m) == [("a", "b")]
