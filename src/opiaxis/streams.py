"""Every random number of opiaxis comes from here: ``Streams(seed).patient(pid, purpose)``.

A stream is seeded by ``(seed, purpose, patient id, key...)`` through
:class:`numpy.random.SeedSequence` (O'Neill 2014, PCG64), so a patient's draws for one purpose do
not depend on the cohort size, the chunk or worker that simulates it, the other patients, or
the draws made for any other purpose. Purposes are named (:class:`Purpose`); a new kind of draw
gets a new member, never an offset added to the seed.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import OpiaxisInputError

_MASK = 0xFFFFFFFFFFFFFFFF


class Purpose(enum.IntEnum):
    """What a stream is for. The numbers are part of the seed: changing one changes results."""
    PARAMETERS = 1          # between-patient variability of model parameters (population)
    COVARIATES = 2          # covariates (Gaussian copula, population.covariates)
    ARM = 3                 # randomisation to arms (Streams.randomise)
    CHOICE = 4              # assigning one of several options, e.g. a regimen mix (trials.choose)
    READOUT = 5             # assay and rating-scale noise (observe; key: read-out name)
    BEHAVIOUR_TRAITS = 6    # between-patient variability of behaviour parameters
    BEHAVIOUR_EVENTS = 7    # day-by-day use, overdose, rescue and treatment events
    SBM_DIARY = 8           # weekly spontaneous-bowel-movement diaries (physiology.gut)
    TRIAL = 9               # per-patient draws inside a simulated published trial (rater and VAS
                            #   noise, placebo response; key: the trial's own stream number)
    VPOP = 10               # virtual-population acceptance and selection (population.vpop)
    FIT = 11                # posterior and importance draws of a fit (calibrate)
    BOOTSTRAP = 12          # resampling for confidence intervals
    DESIGN = 13             # study-design draws not tied to a patient (e.g. scan timing)
    REPLICATE = 14          # the seeds of a stochastic target's re-draws (validate; key: replicate number)
    COHORT = 15             # the seed of one named simulated trial's cohort (behaviour.trials; key: trial name)


def _splitmix(x):
    """SplitMix64's finaliser on uint64 (arrays or scalars): a bijective avalanche mix."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _word(x) -> int:
    """A non-negative 64-bit word for the seed: integers as they are, text by its CRC-32."""
    if isinstance(x, (str, bytes)):
        return zlib.crc32(x.encode() if isinstance(x, str) else x)
    try:
        return int(x) & _MASK
    except (TypeError, ValueError):
        return zlib.crc32(str(x).encode())


class Streams:
    """The random streams of one seed."""

    def __init__(self, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise OpiaxisInputError(f"seed {seed!r} must be an integer", field="seed")
        self.seed = int(seed)

    def patient(self, pid, purpose: Purpose, *key) -> np.random.Generator:
        """The generator of one patient for one purpose (``key``: e.g. a read-out name)."""
        return np.random.default_rng(np.random.SeedSequence(
            [self.seed & _MASK, int(Purpose(purpose)), _word(pid), *(_word(k) for k in key)]))

    def shared(self, purpose: Purpose, *key) -> np.random.Generator:
        """A generator not tied to a patient (a design draw, a bootstrap, a fit's start points)."""
        return np.random.default_rng(np.random.SeedSequence(
            [self.seed & _MASK, int(Purpose(purpose)), _MASK, *(_word(k) for k in key)]))

    def derived_seed(self, purpose: Purpose, *key) -> int:
        """An integer seed derived from this seed for a named use (e.g. one trial's cohort), so that
        different uses never share a stream the way ``seed + k`` offsets do."""
        return int(self.shared(purpose, *key).integers(0, 2**31 - 1))

    def normals(self, ids: Iterable, purpose: Purpose, k: int, *key) -> np.ndarray:
        """Standard normal draws, shape (len(ids), k), one stream per patient."""
        ids = list(ids)
        out = np.empty((len(ids), k))
        for row, pid in enumerate(ids):
            out[row] = self.patient(pid, purpose, *key).standard_normal(k)
        return out

    def named_normals(self, ids: Iterable, purpose: Purpose, names: Sequence[str]) -> np.ndarray:
        """Standard normal draws, shape (len(ids), len(names)), one per (patient, name): each is a
        function of ``(seed, purpose, patient id, name)`` alone, so adding, removing or reordering
        names (a new module's parameters) leaves every other draw of every patient unchanged.

        Counter-based (in the spirit of Salmon et al., SC 2011, "Parallel random numbers: as easy
        as 1, 2, 3"): the key is hashed with the SplitMix64 finaliser (Steele, Lea & Flood, OOPSLA
        2014), the top 53 bits give a uniform in (0, 1), and the inverse normal CDF a normal. It
        is vectorised, so a 10^5-patient cohort with 300 varying parameters takes well under a
        second."""
        from scipy.special import ndtri
        pid = np.fromiter((_word(p) for p in ids), dtype=np.uint64)
        col = np.fromiter((_word(n) for n in names), dtype=np.uint64)
        with np.errstate(over="ignore"):
            h = _splitmix(np.uint64(self.seed & _MASK) ^ np.uint64(0x9E3779B97F4A7C15))
            h = _splitmix(h ^ np.uint64(int(Purpose(purpose))))
            h = _splitmix(h ^ pid)[:, None]
            h = _splitmix(h ^ _splitmix(col)[None, :])
        u = ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0 ** -53
        return ndtri(u)

    def uniforms(self, ids: Iterable, purpose: Purpose, k: int = 1, *key) -> np.ndarray:
        """Uniform(0, 1) draws, shape (len(ids), k), one stream per patient."""
        ids = list(ids)
        out = np.empty((len(ids), k))
        for row, pid in enumerate(ids):
            out[row] = self.patient(pid, purpose, *key).random(k)
        return out

    def randomise(self, ids: Iterable, weights: Sequence[float], purpose: Purpose = Purpose.ARM, *key) -> np.ndarray:
        """Arm index (0..len(weights)-1) of each patient: simple randomisation with the given
        allocation ratio, each patient from its own stream — the one way patients meet arms."""
        w = np.asarray(weights, float)
        if w.ndim != 1 or len(w) < 1 or np.any(~np.isfinite(w)) or np.any(w <= 0):
            raise OpiaxisInputError(f"arm weights must be positive numbers, got {list(weights)!r}", field="weights")
        cum = np.cumsum(w / w.sum())
        u = self.uniforms(ids, purpose, 1, *key)[:, 0]
        return np.minimum(np.searchsorted(cum, u, side="right"), len(w) - 1)
