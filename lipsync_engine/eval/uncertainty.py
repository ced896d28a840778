"""How sure an evaluation is: bootstrap intervals over takes, and paired differences between two runs.

A full `lipsync eval` has 8 self-reconstruction and 8 cross-dub takes, a quick one 5 and 5, so a mean
moves with the takes that happen to be in it. Resampling the takes (percentile bootstrap, fixed seed so
a report is reproducible) gives the interval a mean would fall in over other takes like these. Two
generators measured on the same takes are compared take for take: the interval of the mean paired
difference is much narrower than the two separate intervals, and a difference whose interval holds 0 is
not shown to be one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lipsync_engine.errors import InputError

LEVEL = 0.95
RESAMPLES = 4000
SEED = 0


@dataclass(frozen=True)
class Interval:
    """Mean over takes and its bootstrap interval at LEVEL; ``takes`` = how many finite values it rests on."""

    mean: float
    low: float
    high: float
    takes: int

    @property
    def excludes_zero(self) -> bool:
        return self.takes > 1 and (self.low > 0.0 or self.high < 0.0)


def bootstrap(values: list[float] | np.ndarray) -> Interval:
    """Percentile bootstrap interval of the mean of ``values`` (NaNs dropped); NaN bounds below 2 values."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    if len(finite) == 1:
        return Interval(float(finite[0]), float("nan"), float("nan"), 1)
    rng = np.random.default_rng(SEED)
    means = finite[rng.integers(0, len(finite), (RESAMPLES, len(finite)))].mean(axis=1)
    tail = (1.0 - LEVEL) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(finite.mean()), float(low), float(high), len(finite))


def take_key(row: dict) -> tuple[str, str, str]:
    """What makes a take the same take in two runs: its kind, target clip and driving clip."""
    return row["kind"], row["target"], row["driver"]


def intervals(rows: list[dict], measures: list[str]) -> dict[str, Interval]:
    """Per-take rows (results.json's ``per_take`` of one generator) -> "<kind>_<measure>" -> Interval."""
    out = {}
    for key in measures:
        kind, measure = key.split("_", 1)
        out[key] = bootstrap([row[measure] for row in rows if row["kind"] == kind and measure in row])
    return out


def paired_differences(before: list[dict], after: list[dict]) -> dict[str, Interval]:
    """"<kind>_<measure>" -> Interval of the mean of (after - before) over the takes both runs share.

    InputError when the runs share no take (other held-out clips, or other generators' files)."""
    earlier = {take_key(row): row for row in before}
    shared = [(earlier[take_key(row)], row) for row in after if take_key(row) in earlier]
    if not shared:
        raise InputError("the two evaluations share no take (same kind, target and driving clip); compare runs "
                         "made on the same dataset cache")
    keys = sorted({(a["kind"], m) for a, b in shared for m in a if m in b and _is_measure(a[m]) and _is_measure(b[m])})
    return {f"{kind}_{m}": bootstrap([b[m] - a[m] for a, b in shared if a["kind"] == kind and m in a and m in b])
            for kind, m in keys}


def _is_measure(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
