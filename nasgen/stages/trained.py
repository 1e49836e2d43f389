"""Stage `trained`: one network trained and evaluated on one dataset under one recipe and seed.

Key: the network's architecture id (its spec: a MacroArch, or a ``PlainNet`` reference outside the macro space),
the dataset (name, root, size), the recipe and the seed, so a network is trained once per setting wherever it
came from (a generate artifact, a search, a JSON file, a hand-designed reference).
Written: ``checkpoint.safetensors`` (weights with the spec in the metadata), ``curve.parquet`` (one row per
epoch: the learning curve a later predictor can use), ``metrics.json`` (final and best test accuracy,
seconds) and ``curve.png``.
"""

from __future__ import annotations

import io
import math

import pyarrow as pa
import torch

from nasgen.errors import ConfigError
from nasgen.space.macro import MacroArch
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, store_of
from nasgen.train.checkpoint import checkpoint_bytes
from nasgen.train.config import DatasetConfig, TrainRecipe
from nasgen.train.datasets import prepared
from nasgen.train.loop import train_network
from nasgen.train.references import PlainNet, build

STAGE = "trained"
CURVE = "curve.parquet"
CURVE_COLUMNS = ("lr", "train_loss", "train_top1", "val_loss", "val_top1", "test_loss", "test_top1", "test_top5",
                 "seconds")  # fmt: skip
CURVE_SCHEMA = pa.schema([pa.field("epoch", pa.int64(), nullable=False)]
                         + [pa.field(c, pa.float64(), nullable=False) for c in CURVE_COLUMNS])  # fmt: skip


def recipe_config(recipe: TrainRecipe) -> dict:
    """The recipe as the key holds it (``test_every`` and ``stop_after`` only where set: added later, earlier
    keys unchanged)."""
    later = {"test_every"} if recipe.test_every == 1 else set()
    return recipe.model_dump(mode="json", exclude=later | ({"stop_after"} if recipe.stop_after is None else set()))


def _config(macro: MacroArch | PlainNet, dataset: DatasetConfig, recipe: TrainRecipe) -> dict:
    return {"arch_id": macro.arch_id, "macro": macro.to_dict(), "dataset": dataset.model_dump(mode="json"),
            "recipe": recipe_config(recipe)}  # fmt: skip


def key(macro: MacroArch | PlainNet, dataset: DatasetConfig, recipe: TrainRecipe) -> str:
    return content_key(STAGE, _config(macro, dataset, recipe))


def compute(store: ArtifactStore, macro: MacroArch | PlainNet, dataset: DatasetConfig, recipe: TrainRecipe,
            device: str = "cpu", progress=None) -> Ref:  # fmt: skip
    """Train and evaluate on ``device`` (not part of the key)."""
    ds = prepared(dataset, recipe.seed)
    if tuple(macro.input_shape) != ds.input_shape or macro.classes != ds.classes:
        raise ConfigError(f"network {macro.arch_id} takes input {tuple(macro.input_shape)} with {macro.classes} "
                          f"classes; dataset {ds.name} has {ds.input_shape} and {ds.classes}: generate for that "
                          "input and class count")  # fmt: skip
    torch.manual_seed(recipe.seed)
    net = build(macro)
    rows = train_network(net, ds, recipe, device, progress)
    last = rows[-1]
    tested = [r["test_top1"] for r in rows if not math.isnan(r["test_top1"])]  # the last epoch always is
    metrics = {"arch_id": macro.arch_id, "dataset": ds.name, "epochs": len(rows), "test_top1": last["test_top1"],
               "test_top5": last["test_top5"], "best_test_top1": max(tested),
               "train_top1": last["train_top1"], "val_top1": None if math.isnan(last["val_top1"]) else last["val_top1"],
               "seconds": sum(r["seconds"] for r in rows)}  # fmt: skip
    with store.writer(STAGE, key(macro, dataset, recipe), config=_config(macro, dataset, recipe)) as w:
        w.write_bytes("checkpoint.safetensors", checkpoint_bytes(net, macro))
        w.write_parquet(CURVE, {k: [r[k] for r in rows] for k in ("epoch", *CURVE_COLUMNS)}, CURVE_SCHEMA)
        w.write_json(METRICS, metrics)
        w.write_bytes("curve.png", curve_png(rows, f"{macro.arch_id} on {ds.name}"))
        w.rows = len(rows)
        w.meta.update(metrics=metrics)
    return w.ref


def curve_png(rows: list[dict], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [r["epoch"] + 1 for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(ep, [r["train_loss"] for r in rows], label="train")
    a.plot(ep, [r["test_loss"] for r in rows], label="test")
    a.set(xlabel="epoch", ylabel="cross-entropy", title=title)
    a.legend()
    b.plot(ep, [r["train_top1"] for r in rows], label="train top-1")
    b.plot(ep, [r["test_top1"] for r in rows], label="test top-1")
    b.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    b.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def curve(ref: Ref) -> dict[str, list[float]]:
    """A `trained` artifact's per-epoch curve: column -> one value per epoch (``epoch`` and CURVE_COLUMNS)."""
    return store_of(ref).read_parquet(ref, CURVE).to_pydict()
