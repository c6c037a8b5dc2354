"""python -m opiaxis: the same command line as the `opiaxis` script."""

from .cli import app

app()
