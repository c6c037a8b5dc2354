"""Structure checks of the package: functions longer than a limit, private names imported across
packages, and import cycles (module-level, and packages importing each other anywhere).

    python scripts/check_structure.py [--limit 100]

A function may be exempt from the length limit only with a written reason: a comment

    # structure: long function — <reason>

on the line directly above its ``def`` (above its first decorator, if it has any). Exemptions are
listed with their reasons; a mark without a reason exempts nothing.

tests/test_structure.py holds the whole package to these rules (with a shrinking list of
functions still to be split).
"""

from __future__ import annotations

import argparse
import ast
import collections
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules(src: Path = SRC) -> dict[str, tuple[Path, ast.Module, bool]]:
    """Dotted module name -> (file, syntax tree, is a package __init__)."""
    out = {}
    for f in sorted((src / "opiaxis").rglob("*.py")):
        rel = f.relative_to(src).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        out[name] = (f, ast.parse(f.read_text()), rel.name == "__init__")
    return out


def package(name: str) -> str:
    """The top-level part of opiaxis a module belongs to ('study', 'engine', 'streams', ...)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(mods) -> list[tuple[str, str, str, bool]]:
    """(importing module, imported module, imported name, at module level) for opiaxis imports."""
    out = []
    for name, (_, tree, is_init) in mods.items():
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = (name if is_init else name.rsplit(".", 1)[0]).split(".")
                target = ".".join(base[:len(base) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "opiaxis":
                continue
            for a in node.names:
                full = f"{target}.{a.name}"
                out.append((name, full if full in mods else target, a.name, id(node) in top))
    return out


EXEMPTION = re.compile(r"^\s*#\s*structure:\s*long function\s*[—–-]+\s*(?P<reason>\S.*?)\s*$")


def functions(mods) -> list[tuple[int, str, str | None]]:
    """(length in lines, qualified name, exemption reason or None) of every function, nested ones
    included (named after their module)."""
    found = []
    for name, (path, tree, _) in mods.items():
        lines = path.read_text().splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                mark = EXEMPTION.match(lines[first - 2]) if first >= 2 else None
                found.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}",
                              mark.group("reason") if mark else None))
    return found


def long_functions(mods, limit: int) -> list[tuple[int, str]]:
    """Functions over ``limit`` lines without a written exemption, longest first."""
    return sorted(((n, q) for n, q, reason in functions(mods) if n > limit and reason is None), reverse=True)


def exempt_functions(mods) -> list[tuple[int, str, str]]:
    """(length, qualified name, reason) of the functions marked as exempt from the length limit."""
    return sorted(((n, q, reason) for n, q, reason in functions(mods) if reason is not None), reverse=True)


def private_imports(mods) -> list[str]:
    return sorted({f"{src} imports {tgt}:{nm}" for src, tgt, nm, _ in imports(mods)
                   if nm.startswith("_") and not nm.startswith("__") and package(src) != package(tgt)})


def module_cycles(mods) -> list[list[str]]:
    """Strongly connected groups of modules importing each other at module level."""
    edges = collections.defaultdict(set)
    for src, tgt, _, top in imports(mods):
        if top and tgt in mods and tgt != src:
            edges[src].add(tgt)
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in list(mods):
        if v not in index:
            visit(v)
    return groups


def package_cycles(mods) -> list[tuple[str, str]]:
    """Pairs of packages importing each other, counting imports inside functions too."""
    deps = collections.defaultdict(set)
    for src, tgt, _, _ in imports(mods):
        if package(src) != package(tgt):
            deps[package(src)].add(package(tgt))
    return sorted({tuple(sorted((a, b))) for a in deps for b in deps[a] if a in deps.get(b, ())})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=100)
    limit = ap.parse_args().limit
    mods = modules()
    print(f"functions over {limit} lines:",
          *[f"{n:4d} {q}" for n, q in long_functions(mods, limit)] or ["(none)"], sep="\n  ")
    print("exempt from the length limit (the reason is written above the def):",
          *[f"{n:4d} {q}: {reason}" for n, q, reason in exempt_functions(mods)] or ["(none)"], sep="\n  ")
    print("private names imported across packages:", *private_imports(mods) or ["(none)"], sep="\n  ")
    print("module-level import cycles:", *[" <-> ".join(c) for c in module_cycles(mods)] or ["(none)"], sep="\n  ")
    print("packages importing each other:", *[f"{a} <-> {b}" for a, b in package_cycles(mods)] or ["(none)"],
          sep="\n  ")


if __name__ == "__main__":
    main()
