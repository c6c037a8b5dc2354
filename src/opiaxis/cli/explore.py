"""``opiaxis explore``: the local web explorer (registered on the main app by :mod:`opiaxis.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import OpiaxisError
from .common import console, fail


def register(app: typer.Typer) -> None:

    @app.command("explore")
    def explore(port: int = typer.Option(8765, help="port on 127.0.0.1"),
                patient: Optional[Path] = typer.Option(None, help="a fitted patient: opiaxis fit's parameters.csv"),
                open_browser: bool = typer.Option(True, "--open/--no-open", help="open a browser tab"),
                workers: int = typer.Option(1, help="simulation worker processes")):
        """A local web app: virtual patients on regimens, side by side, with population bands;
        behaviour trials with Kaplan–Meier curves; downloads. Listens on 127.0.0.1 only."""
        try:
            from ..explore import serve
            if not 1 <= port <= 65535:
                from ..errors import OpiaxisInputError
                raise OpiaxisInputError(f"port {port} is not a TCP port (1-65535)", field="--port")
            console.print(f"opiaxis explorer on http://127.0.0.1:{port}/ (Ctrl+C stops it)")
            serve("127.0.0.1", port, patient_file=str(patient) if patient else None, workers=workers,
                  open_browser=open_browser)
        except OpiaxisError as exc:
            fail(exc)
