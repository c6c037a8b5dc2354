"""Command-line interface: ``opiaxis <command>``, one module per command group.

* :mod:`.core` — ``run``, ``model``, ``validate``, ``drugs``, ``check-events``
* :mod:`.interop` — ``export-sbml``, ``export-petab``, ``import-nonmem``, ``simulate-nonmem``
* :mod:`.precision` — ``fit``, ``recommend``, ``stratify``
* :mod:`.behaviour` — ``trial``
* :mod:`.sensitivity` — ``sensitivity``
* :mod:`.calibrate` — ``calibrate``
* :mod:`.explore` — ``explore``

A new command goes in the module of its group (or a new module with ``register(app)``, added
below); :mod:`.common` holds the consoles, error exits and progress bars they share.
"""

from __future__ import annotations

import sys

import typer

from . import behaviour, calibrate, core, explore, interop, precision, sensitivity

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="opiaxis: virtual patients of the opioid–neuroimmune–endocrine–gut system.")

core.register(app)
interop.register(app)
precision.register(app)
behaviour.register(app)
sensitivity.register(app)
explore.register(app)
calibrate.register(app)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
