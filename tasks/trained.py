"""Task of the `trained` stage: one network on one dataset, recipe and seed."""

from __future__ import annotations

from nasgen.config import DatasetConfig, TrainRecipe
from nasgen.space.macro import MacroArch
from nasgen.stages import trained
from nasgen.store import ArtifactStore, Ref
from tasks.stage import stage_task


def _train(store: str, macro: MacroArch, dataset: DatasetConfig, recipe: TrainRecipe, device: str = "cpu") -> Ref:
    return trained.train(ArtifactStore(store), macro, dataset, recipe, device=device)


train_network = stage_task(
    _train,
    stage=trained.STAGE,
    key_fn=lambda i: trained.trained_key(i["macro"], i["dataset"], i["recipe"]),
    name="train-network",
    run_name="train-{macro.arch_id}",
)
