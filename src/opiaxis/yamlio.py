"""YAML with line numbers, so that errors in a study file can name the line; the checks of its
fields (keys, numbers) that name the file, line and field of a bad value."""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import yaml

from .errors import OpiaxisInputError


class LDict(dict):
    """A dict that remembers the line (1-based) of each key and of itself."""

    line: int | None = None
    key_lines: dict


class LList(list):
    line: int | None = None
    item_lines: list


class _Loader(yaml.SafeLoader):
    pass


def _map(loader, node):
    loader.flatten_mapping(node)
    d = LDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for k_node, v_node in node.value:
        k = loader.construct_object(k_node, deep=True)
        if k in d:
            raise OpiaxisInputError(f"key {k!r} appears twice", line=k_node.start_mark.line + 1, field=str(k))
        d[k] = loader.construct_object(v_node, deep=True)
        d.key_lines[k] = v_node.start_mark.line + 1
    return d


def _seq(loader, node):
    lst = LList(loader.construct_object(n, deep=True) for n in node.value)
    lst.line = node.start_mark.line + 1
    lst.item_lines = [n.start_mark.line + 1 for n in node.value]
    return lst


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)


def load_yaml(text: str, file: str):
    try:
        return yaml.load(text, Loader=_Loader)
    except OpiaxisInputError as exc:
        exc.file = file
        raise OpiaxisInputError(exc.message, file=file, line=exc.line, field=exc.field) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise OpiaxisInputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                                line=None if mark is None else mark.line + 1) from None


_WHAT = {"study": "a study file (YAML)", "trial": "a behaviour-trial file (YAML)",
         "any": "a study or behaviour-trial file (YAML)", None: "a YAML file"}


def load_yaml_file(path: str | Path, expect: str | None = None):
    """Load a YAML file; ``expect`` ("study" or "trial") also points a file of the other kind
    to the command that runs it."""
    p = Path(path)
    what = _WHAT.get(expect, _WHAT[None])
    if not p.exists():
        raise OpiaxisInputError(f"file not found; expected {what}", file=str(p))
    if p.is_dir():
        raise OpiaxisInputError(f"is a directory; expected {what}", file=str(p))
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise OpiaxisInputError(f"cannot read: {exc.strerror or exc}; expected {what}", file=str(p)) from None
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"), data.index(b"\0") + 1, "NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OpiaxisInputError(f"is not a text file (binary content); expected {what}", file=str(p)) from None
    doc = load_yaml(text, str(p))
    if isinstance(doc, dict):
        if expect == "study" and doc.get("kind") == "behaviour-trial":
            raise OpiaxisInputError(f"this is a behaviour-trial file (kind: behaviour-trial); run it with "
                                    f"`opiaxis run {p}` or `opiaxis trial {p}` (opiaxis.study.load_spec reads "
                                    "either kind)", file=str(p), line=line_of(doc, "kind"), field="kind")
        if expect == "trial" and "kind" not in doc and ("schedule" in doc or "outputs" in doc):
            raise OpiaxisInputError(f"this is a study file (it has schedule/outputs and no kind: behaviour-trial); "
                                    f"run it with `opiaxis run {p}`", file=str(p), line=1)
    return doc


def line_of(container, key) -> int | None:
    if isinstance(container, LDict):
        return container.key_lines.get(key, container.line)
    if isinstance(container, LList):
        try:
            return container.item_lines[key]
        except (IndexError, TypeError):
            return container.line
    return None


def field_error(msg: str, file, node, key, field) -> OpiaxisInputError:
    """An input error located at ``node[key]`` of a YAML file (file, line, field)."""
    return OpiaxisInputError(msg, file=file, line=line_of(node, key), field=field)


def check_keys(node, allowed, file, where: str, line=None) -> None:
    """``node`` must be a mapping whose keys are all in ``allowed``; an unknown key is an error
    naming the file, its line and the nearest allowed key."""
    import difflib
    if not isinstance(node, dict):
        raise OpiaxisInputError(f"expected a mapping with keys {sorted(allowed)}", file=file,
                                line=getattr(node, "line", line), field=where)
    for k in node:
        if k not in allowed:
            hint = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            raise field_error(f"unknown key {k!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                              + f"; expected one of {sorted(allowed)}", file, node, k,
                              f"{where}.{k}" if where else str(k))


def _requirement(integer: bool, minimum, positive: bool) -> str:
    """What a number field must be, in words ('a positive integer', 'a number >= 0', ...)."""
    if integer:
        return {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}")
    if positive:
        return "a positive number"
    return "a finite number" if minimum is None else f"a number >= {minimum:g}"


def number(value, field: str, *, file=None, line=None, name: str = "", integer: bool = False,
           minimum: float | None = None, positive: bool = False) -> float | int:
    """``value`` of an input field as a finite number (a float), or with ``integer`` a whole number
    (an int), at least ``minimum`` and, with ``positive``, above zero. Anything else (text, true/false,
    NaN, infinity, too small) is an input error naming the file, line and field, and saying what was
    expected: "size 0 must be a positive integer" (``name`` starts the message)."""
    if integer:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    else:
        ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
              and math.isfinite(value) and not (positive and value <= 0))
    if ok and minimum is not None:
        ok = value >= minimum
    if not ok:
        label = f"{name} " if name else ""
        raise OpiaxisInputError(f"{label}{value!r} must be {_requirement(integer, minimum, positive)}",
                                file=file, line=line, field=field)
    return int(value) if integer else float(value)
