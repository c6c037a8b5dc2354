"""Declarative model core."""
from .core import (Assignment, Coupling, DoseTarget, Input, Model, Module, Parameter, State,
                   Variability, compose, lognormal)
from .units import parse_unit, ureg

__all__ = ["Assignment", "Coupling", "DoseTarget", "Input", "Model", "Module", "Parameter", "State",
           "Variability", "compose", "lognormal", "parse_unit", "ureg"]
