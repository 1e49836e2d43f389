"""Final model selection among generated networks (paper Section 5 and Appendix F.1).

``tcet``: the network with the best T-CET, no training before the final one (the paper's default).
``reduced``: the top-N by T-CET are trained for a fraction of the recipe on the training split minus a held-out
validation split; the best validation top-1 wins (ties: the better T-CET). ``lce``: the top-N by T-CET are
trained for the first E_few epochs of a curve table's recipe and LcSVR (or WPM) extrapolates each partial
curve to its final validation accuracy (NAS-Bench-x11's learning-curve extrapolation); the best prediction
wins. Only the winner gets the full recipe. Selection never looks at the test set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nasgen.errors import ConfigError
from nasgen.space.macro import MacroArch
from nasgen.train.config import SelectionConfig, TrainRecipe


@dataclass(frozen=True)
class Ranked:
    macro: MacroArch
    tcet: float


def select(ranked: list[Ranked], cfg: SelectionConfig, validate: Callable[[MacroArch], float],
           extrapolate: Callable[[MacroArch], float] | None = None) -> tuple[MacroArch, list[dict]]:  # fmt: skip
    """(the chosen network, one row per considered network); ``validate`` trains briefly, returns val top-1;
    ``extrapolate`` (lce) trains the first epochs of the curve table's recipe, returns the predicted final one."""
    if not ranked:
        raise ConfigError("no generated networks to select from")
    order = sorted(ranked, key=lambda r: -r.tcet)
    if cfg.strategy == "tcet":
        return order[0].macro, [{"arch_id": r.macro.arch_id, "tcet": r.tcet, "val_top1": None} for r in order]
    if cfg.strategy == "lce":
        if extrapolate is None:
            raise ConfigError("lce selection extrapolates learning curves: give a curve table (selection.curves)")
        rows = [{"arch_id": r.macro.arch_id, "tcet": r.tcet, "predicted_final_val_top1": extrapolate(r.macro)}
                for r in order[: cfg.top_n]]  # fmt: skip
        best = max(range(len(rows)), key=lambda i: (rows[i]["predicted_final_val_top1"], -i))
        return order[best].macro, rows
    rows = [{"arch_id": r.macro.arch_id, "tcet": r.tcet, "val_top1": validate(r.macro)} for r in order[: cfg.top_n]]
    best = max(range(len(rows)), key=lambda i: (rows[i]["val_top1"], -i))
    return order[best].macro, rows


def reduced_recipe(recipe: TrainRecipe, cfg: SelectionConfig) -> TrainRecipe:
    """The short run of ``reduced`` selection: ``reduced_fraction`` of the epochs, warm-up at most half of them."""
    epochs = max(1, round(cfg.reduced_fraction * recipe.epochs))
    warmup = min(recipe.warmup_epochs, epochs / 2)
    return recipe.model_copy(update={"epochs": epochs, "warmup_epochs": warmup})
