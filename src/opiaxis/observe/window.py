"""Read-outs that recall a window: the mean of a latent over [t − window, t].

A questionnaire with a recall period or a diary count answers for the days before the visit, not
for its instant: the Bowel Function Index recalls the past 7 days (Rentz et al., J Med Econ
2009;12:371; Ducrotté & Caussé, Curr Med Res Opin 2012;28:457) and a spontaneous-bowel-movement
diary counts the week before it. For a read-out with a ``window`` (:mod:`opiaxis.observe.assays`)
the latent value at a measurement time t is

    x̄(t) = (1/w) ∫_{t−w}^{t} x(s) ds,    w = min(window, t − start)

computed one of two ways, both linear in the latent:

* exactly, from a running integral the model keeps (a candidate's ``integral``: X(s) = ∫ x ds in
  hours), as (X(t) − X(t − w))/w;
* otherwise by the trapezoid rule over the latent at the window's nodes: in a fit or a synthetic
  record, nodes ``step`` hours apart (:func:`window_nodes`); on a results table, the table's own
  times inside the window (the trapezoid of its piecewise-linear interpolant).

A window that reaches before the start of the simulation is clipped to it (``start``): what
exists is averaged, and at the start itself (w = 0) the value is the latent at that instant —
the resting state the simulation starts from. Weights are returned as matrices (measurements ×
nodes) so that every caller applies the same definition to whatever latents it has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .assays import WINDOW_STEP_H


@dataclass(frozen=True)
class Sampling:
    """How the values at ``t`` (measurement times) are made from a latent and its running integral
    at ``nodes``: value = level @ x(nodes) + integral @ X(nodes)."""

    t: np.ndarray
    nodes: np.ndarray
    level: np.ndarray                 # (len(t), len(nodes))
    integral: np.ndarray | None       # (len(t), len(nodes)) per hour, or None (no integral used)

    def apply(self, x: np.ndarray, X: np.ndarray | None = None) -> np.ndarray:
        """Values (..., len(t)) from the latent ``x`` (..., len(nodes)) [and its integral ``X``]."""
        out = x @ self.level.T
        if self.integral is not None:
            out = out + X @ self.integral.T
        return out


def _bounds(t: float, window: float, start: float) -> tuple[float, float]:
    lo = max(t - window, start)
    return lo, max(t - lo, 0.0)


def window_nodes(t, window: float | None, start: float, *, exact: bool = False,
                 step: float = WINDOW_STEP_H) -> np.ndarray:
    """The times at which a latent is needed for its values at ``t``: ``t`` itself without a
    window; with one, the window's ends (``exact``: a running integral) or nodes at most ``step``
    hours apart spanning it (the trapezoid)."""
    t = np.atleast_1d(np.asarray(t, float))
    if window is None:
        return np.unique(t)
    parts = [t]
    for ti in t:
        lo, w = _bounds(ti, window, start)
        if w <= 0:
            continue
        parts.append(np.array([lo, ti]) if exact else np.linspace(lo, ti, int(np.ceil(w / step - 1e-9)) + 1))
    return np.unique(np.round(np.concatenate(parts), 9))


def sampling(t, window: float | None, start: float, *, nodes: np.ndarray | None = None,
             exact: bool = False, step: float = WINDOW_STEP_H) -> Sampling:
    """The :class:`Sampling` of measurements at ``t`` over ``nodes`` (default
    :func:`window_nodes`; given nodes must contain every ``t``). ``exact``: the mean comes from a
    running integral, interpolated linearly at a window end between nodes."""
    t = np.atleast_1d(np.asarray(t, float))
    nodes = window_nodes(t, window, start, exact=exact, step=step) if nodes is None else np.asarray(nodes, float)
    level = np.zeros((len(t), len(nodes)))
    integral = np.zeros((len(t), len(nodes))) if exact and window is not None else None
    at = _index(nodes, t)
    for i, ti in enumerate(t):
        lo, w = _bounds(ti, window, start) if window is not None else (ti, 0.0)
        if w <= 0:
            level[i, at[i]] = 1.0
        elif exact:
            integral[i] += _interpolation_row(nodes, ti) / w
            integral[i] -= _interpolation_row(nodes, lo) / w
        else:
            level[i] = _trapezoid_row(nodes, lo, ti) / w
    return Sampling(t=t, nodes=nodes, level=level, integral=integral)


def _index(nodes: np.ndarray, t: np.ndarray) -> np.ndarray:
    j = np.clip(np.searchsorted(nodes, t - 1e-9), 0, len(nodes) - 1)
    if len(t) and not np.allclose(nodes[j], t, rtol=0, atol=1e-6):
        k = int(np.flatnonzero(~np.isclose(nodes[j], t, rtol=0, atol=1e-6))[0])
        raise ValueError(f"measurement time {t[k]:g} h is not among the sampled times")
    return j


def _interpolation_row(nodes: np.ndarray, s: float) -> np.ndarray:
    """Weights over ``nodes`` of the linear interpolant at ``s`` (inside the nodes' span)."""
    row = np.zeros(len(nodes))
    j = int(np.searchsorted(nodes, s))
    if j < len(nodes) and abs(nodes[j] - s) < 1e-6:
        row[j] = 1.0
        return row
    if j == 0 or j == len(nodes):
        raise ValueError(f"window end {s:g} h is outside the sampled times")
    a = (s - nodes[j - 1]) / (nodes[j] - nodes[j - 1])
    row[j - 1], row[j] = 1.0 - a, a
    return row


def _trapezoid_row(nodes: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Weights over ``nodes`` of ∫_lo^hi of the piecewise-linear interpolant."""
    inner = nodes[(nodes > lo + 1e-9) & (nodes < hi - 1e-9)]
    pts = np.r_[lo, inner, hi]
    h = np.diff(pts)
    w_pts = np.zeros(len(pts))
    w_pts[:-1] += h / 2
    w_pts[1:] += h / 2
    row = np.zeros(len(nodes))
    for s, wt in zip(pts, w_pts):
        row += wt * _interpolation_row(nodes, s)
    return row
