"""NumPy functions of a model's assignments (read-outs, interface variables), made once per model
structure and kept on disk beside the compiled kernel.

:meth:`Results.get <opiaxis.engine.simulate.Results.get>` and the fit's ``Simulator`` evaluate an
assignment from the solved states and the parameters. Making that function is SymPy work: the
assignments substituted down to states and parameters (``Model.assignment_exprs``) and printed by
``sympy.lambdify``. Measured in fresh processes on the default model
(``benchmarks/bench_startup.py``, ``benchmarks/results/startup_*``): 1.3 CPU-s for the default
study's 17 outputs, 2.0 CPU-s for the fit's 39 read-out latents, in every new process. So the
printed source of each function is cached under the compile cache
(:func:`~opiaxis.engine.codegen.cache_dir`), keyed by the model's structural fingerprint, the
assignment's name and this generator (its text, ``codegen.py``'s, the SymPy and NumPy versions);
a process with a warm cache reads the source and runs it, with no SymPy work (0.0 and 0.09 CPU-s).
The cached function is lambdify's own code run in lambdify's namespace, so its values are the
same, bit for bit.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import inspect
import os
from pathlib import Path

import numpy as np

from ..model.core import Model
from .codegen import cache_dir

_PRELUDE = "import numpy\nfrom numpy import *\nfrom numpy.linalg import *\nfrom functools import reduce\n"
_FUNC = "_lambdifygenerated"   # the name sympy.lambdify gives the function it prints


def np_spow(b, e):
    """The kernel's guarded power, vectorised: ``b**e`` for ``b > 0``, else 0 (a concentration that
    dips to -1e-20 by round-off after a drug clears must not turn a read-out into NaN)."""
    b = np.asarray(b, dtype=float)
    pos = b > 0.0
    return np.where(pos, np.power(np.where(pos, b, 1.0), e), 0.0)


@functools.cache
def _generator_key() -> str:
    import sympy

    from . import codegen   # its _guard_powers shapes every printed function
    text = (Path(__file__).read_bytes() + Path(codegen.__file__).read_bytes()
            + f"sympy {sympy.__version__} numpy {np.__version__}".encode())
    return hashlib.sha256(text).hexdigest()[:8]


def _namespace() -> dict:
    """What lambdify gives the function it prints for ``[{"SPow": np_spow}, "numpy"]``: NumPy's names,
    ``reduce``, the guarded power (checked against lambdify's own namespace when a file is written)."""
    ns = {"builtins": builtins, "range": range}
    exec(_PRELUDE, ns)   # noqa: S102 - a fixed text, not input
    ns.update({"I": 1j, "SPow": np_spow})
    return ns


def _path(model: Model, name: str, cse: bool) -> Path:
    stem = name if name.isidentifier() else hashlib.sha256(name.encode()).hexdigest()[:16]
    return cache_dir() / f"a_{model.fingerprint()}_{_generator_key()}" / f"{stem}{'.cse' if cse else ''}.py"


def _load(path: Path):
    """The cached function at ``path``, or None when there is none (or it cannot be read)."""
    ns = _namespace()
    try:
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), ns)   # noqa: S102 - our own file
    except (OSError, SyntaxError, ValueError):   # absent, or damaged: made again
        return None
    return ns.get(_FUNC)


def _make(model: Model, name: str, cse: bool):
    """lambdify the assignment (SymPy work); returns the function and its source."""
    import sympy as sp

    from .codegen import _guard_powers
    exprs = model.__dict__.get("_assignment_exprs_by_name")
    if exprs is None:
        exprs = model.__dict__.setdefault("_assignment_exprs_by_name", model.assignment_exprs())
    syms = [s.symbol for s in model.states] + [p.symbol for p in model.parameters]
    f = sp.lambdify(syms, _guard_powers(exprs[name]), [{"SPow": np_spow}, "numpy"], cse=cse)
    return f, inspect.getsource(f)


def _store(path: Path, f, src: str) -> None:
    """Write ``src`` (atomically) when the cached copy would run with the same global names as
    ``f``; otherwise keep it in memory only (a printer that needs another import is never wrong,
    only uncached)."""
    ns = _namespace()
    if any(n in f.__globals__ and ns.get(n, ns) is not f.__globals__[n] for n in f.__code__.co_names):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src, encoding="utf-8")
        os.replace(tmp, path)   # atomic: a concurrent process never reads half a file
    except OSError:
        pass   # a read-only cache costs speed, not results


def assignment_function(model: Model, name: str, *, cse: bool = False):
    """A NumPy function of (states..., parameters...) for the assignment ``name``: from memory, else
    from the disk cache, else made with SymPy and cached. Non-integer powers are guarded exactly as
    in the compiled kernel. ``cse=True`` evaluates shared sub-expressions once (about half the
    time per call for the fit's read-outs, measured; slower to make, and equal to the plain
    function up to rounding): for callers that evaluate the same read-out many times."""
    cache = model.__dict__.setdefault("_lambdified", {})
    f = cache.get((name, cse))
    if f is None:
        path = _path(model, name, cse)
        f = _load(path)
        if f is None:
            f, src = _make(model, name, cse)
            _store(path, f, src)
        cache[name, cse] = f
    return f
