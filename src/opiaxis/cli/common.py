"""What every command shares: the consoles, located error exits, output-file checks, progress bars."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import ModelDefinitionError, OpiaxisInputError

console = Console()
err_console = Console(stderr=True)


def fail(exc: Exception) -> None:
    if isinstance(exc, OSError):   # a file that cannot be read or written: name it, no traceback
        exc = OpiaxisInputError(f"cannot read or write here: {exc.strerror or exc}",
                                file=exc.filename if exc.filename is not None else None)
    kind = "input error" if isinstance(exc, OpiaxisInputError) else \
        "model definition error" if isinstance(exc, ModelDefinitionError) else "error"
    err_console.print(f"[bold red]{kind}:[/] {escape(str(exc))}", highlight=False)
    raise typer.Exit(2)


def output_file(path: Path, option: str) -> Path:
    """An output file path: not a folder, and its folder exists (checked before any slow work)."""
    if path.is_dir():
        raise OpiaxisInputError("is a folder; expected a file name to write", file=str(path), field=option)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OpiaxisInputError(f"folder {str(parent)!r} does not exist; expected a file in an existing folder",
                                file=str(path), field=option)
    if not os.access(parent, os.W_OK):
        raise OpiaxisInputError(f"folder {str(parent)!r} is not writable", file=str(path), field=option)
    return path


def progress_bar():
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, transient=False)
