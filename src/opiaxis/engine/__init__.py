"""Code generation and the batched solver."""
from .simulate import Results, SolverOptions, SolverStats, simulate

__all__ = ["Results", "SolverOptions", "SolverStats", "simulate"]
