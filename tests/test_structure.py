"""The package keeps the shape of the ground floor: functions a reader can hold in their head,
no private names imported across packages, no import cycles (scripts/check_structure.py)."""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "check_structure", Path(__file__).resolve().parents[1] / "scripts" / "check_structure.py")
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

# Issue 17: functions still over 100 lines, to be split into named steps. A temporary allowance
# that may only shrink: a function that gets shorter leaves it (test below), nothing joins it.
ISSUE_17_LONG_FUNCTIONS_TO_SPLIT: frozenset[str] = frozenset()  # empty: every function is split

# The one function exempt with a written reason (`# structure: long function — <reason>`).
EXEMPT = {"opiaxis.engine.kernel._solve_patient"}


@pytest.fixture(scope="module")
def mods():
    return check.modules()


def test_no_function_over_100_lines_beyond_the_issue_17_allowance(mods):
    long = {q for _, q in check.long_functions(mods, 100)}
    assert long <= ISSUE_17_LONG_FUNCTIONS_TO_SPLIT, sorted(long - ISSUE_17_LONG_FUNCTIONS_TO_SPLIT)


def test_the_issue_17_allowance_only_shrinks(mods):
    """A listed function that is now 100 lines or fewer (or gone) leaves the list."""
    long = {q for _, q in check.long_functions(mods, 100)}
    assert ISSUE_17_LONG_FUNCTIONS_TO_SPLIT <= long, sorted(ISSUE_17_LONG_FUNCTIONS_TO_SPLIT - long)


def test_only_the_numba_kernel_is_exempt_and_says_why(mods):
    exempt = check.exempt_functions(mods)
    assert {q for _, q, _ in exempt} == EXEMPT
    assert all(len(reason.split()) >= 5 for _, _, reason in exempt), exempt


def test_no_private_names_imported_across_packages(mods):
    assert check.private_imports(mods) == []


def test_no_import_cycles(mods):
    assert check.module_cycles(mods) == []
    assert check.package_cycles(mods) == []


def test_the_checks_can_fail(tmp_path):
    """A long function, a private import across packages and a cycle are found; a long function
    is exempt only with a reason written above it."""
    pkg = tmp_path / "opiaxis"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("from ..b import _hidden\n")
    body = "    y = 1\n" * 120
    (pkg / "b.py").write_text("from .a import x\n_hidden = 1\ndef f():\n" + body
                              + "# structure: long function — one loop the compiler must see whole\n"
                              + "@decorated\ndef g():\n" + body
                              + "# structure: long function —\ndef h():\n" + body)
    m = check.modules(tmp_path)
    assert check.private_imports(m) == ["opiaxis.a imports opiaxis.b:_hidden"]
    assert [q for _, q in check.long_functions(m, 100)] == ["opiaxis.b.h", "opiaxis.b.f"]
    assert check.exempt_functions(m) == [(121, "opiaxis.b.g", "one loop the compiler must see whole")]
    assert check.module_cycles(m) == [["opiaxis.a", "opiaxis.b"]]
    assert check.package_cycles(m) == [("a", "b")]
