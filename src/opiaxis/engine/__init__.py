"""Code generation and the batched solver."""
from .simulate import Results, SolverOptions, simulate

__all__ = ["Results", "SolverOptions", "simulate"]
