"""Zero-shot ensembles: proxies combined by their ranks in a population, no accuracy used to fit anything.

AZ-NAS (Lee & Ham, CVPR 2024) combines its components non-linearly: sum over components of log(rank / N),
ranks ascending (rank N = best, ties averaged, a missing or non-finite value ranked below every other). A
network must be good on *every* component to score high: one bottom rank costs log(1/N). The plain mean of
normalised ranks is the linear alternative. Both need a population: a network's score is relative to the
others scored with it (a search's evaluated networks, a benchmark's sample).

The members are fixed before any measurement (they are not chosen by correlation with accuracy): AZ-NAS's
four, and nasgen's ensemble of one proxy per idea: NASWOT's and SWAP's activation codes, MeCo's feature
correlation, the saliencies (synflow, SNIP), T-CET, AZ-NAS's three and FLOPs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

ENSEMBLES: dict[str, tuple[str, ...]] = {
    "aznas": ("az_expressivity", "az_progressivity", "az_trainability", "flops"),
    "ensemble": ("naswot", "swap", "meco", "synflow", "snip", "tcet",
                 "az_expressivity", "az_progressivity", "az_trainability", "flops"),
}  # fmt: skip
AGGREGATIONS: tuple[str, ...] = ("log", "mean")


def ranks(values: Sequence[float] | np.ndarray, axis: int = -1) -> np.ndarray:
    """Ascending ranks 1..N along ``axis``, ties averaged; NaN and -inf tie below every finite value, +inf above."""
    x = np.asarray(values, dtype=float)
    return rankdata(np.where(np.isnan(x), -np.inf, x), axis=axis)


def aggregate(columns: Mapping[str, Sequence[float]], members: Sequence[str], how: str = "log") -> np.ndarray:
    """The ensemble score of each of N networks: ``log``: sum of log(rank / N); ``mean``: mean of rank / N."""
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown rank aggregation {how!r}; expected one of {AGGREGATIONS}")
    missing = [m for m in members if m not in columns]
    if missing:
        raise ValueError(f"the ensemble needs proxies {missing}, which were not scored")
    if not members:
        raise ValueError("an ensemble needs at least one member")
    n = len(columns[members[0]])
    r = np.stack([ranks(columns[m]) / n for m in members])
    return np.log(r).sum(0) if how == "log" else r.mean(0)


def ensemble_scores(columns: Mapping[str, Sequence[float]], how: str = "log") -> dict[str, np.ndarray]:
    """Every named ensemble whose members are all in ``columns``: {name: scores}."""
    return {name: aggregate(columns, members, how)
            for name, members in ENSEMBLES.items() if all(m in columns for m in members)}  # fmt: skip
