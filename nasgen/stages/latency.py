"""Stages `latency_table` and `latency_model`: one device's operation-level lookup table, and the whole-network
predictor fitted and validated on networks measured whole on that device; stage `latency`: one network's
measured latency, cached per (architecture, device, timing settings) like any artifact (``latency.json``).

Keys hold the device's identity (its kind, CPU model and cores, GPU name: ``nasgen.device.describe``), so a GPU
worker builds and caches its own table beside the CPU's, and the timing settings. `latency_table` writes
``table.parquet`` (one row per grid block); `latency_model` writes ``measured.parquet`` (every network: spec,
costs, table sum, measured and predicted latency, fit or holdout), ``model.json`` (the correction),
``metrics.json`` (accuracy on the holdout and on the fit) and ``accuracy.png``.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa

from nasgen.device import describe
from nasgen.errors import ConfigError
from nasgen.latency.config import LatencyModelConfig, LatencyTableConfig, TimingConfig
from nasgen.latency.predictor import LatencyPredictor, accuracy, fit
from nasgen.latency.table import LatencyTable, grid_blocks, measure
from nasgen.latency.timing import time_module
from nasgen.lease import once
from nasgen.space.cost import macro_cost
from nasgen.space.macro import CHANNELS, MacroArch
from nasgen.space.network import build_network
from nasgen.space.sampling import random_macro
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, store_of, upstream_of
from nasgen.train.references import build

TABLE_STAGE = "latency_table"
MODEL_STAGE = "latency_model"
MEASURED_STAGE = "latency"
TABLE, MEASURED = "table.parquet", "measured.parquet"
_INT, _FLOAT, _STR = pa.int64(), pa.float64(), pa.string()
TABLE_SCHEMA = pa.schema(
    [("kind", _STR), ("op", _INT), ("stride", _INT), ("cin", _INT), ("cout", _INT), ("resolution", _INT),
     ("median_ms", _FLOAT), ("p10_ms", _FLOAT), ("p90_ms", _FLOAT)]
)  # fmt: skip
MEASURED_SCHEMA = pa.schema(
    [("macro", _STR), ("arch_id", _STR), ("positions", _INT), ("params", _INT), ("flops", _INT), ("blocks", _INT),
     ("table_sum_ms", _FLOAT), ("measured_ms", _FLOAT), ("p10_ms", _FLOAT), ("p90_ms", _FLOAT), ("split", _STR),
     ("predicted_ms", _FLOAT)]
)  # fmt: skip


def _table_payload(cfg: LatencyTableConfig, input_shape, classes: int, latency_device: str) -> dict:
    return {"latency_table": cfg.model_dump(mode="json"), "input_shape": list(input_shape), "classes": classes,
            "device": describe(latency_device)["identity"]}  # fmt: skip


def table_key(cfg: LatencyTableConfig, input_shape: tuple[int, int, int], classes: int,
              latency_device: str = "cpu") -> str:  # fmt: skip
    return content_key(TABLE_STAGE, _table_payload(cfg, input_shape, classes, latency_device))


def table_units(cfg: LatencyTableConfig, input_shape: tuple[int, int, int], classes: int) -> int:
    return len(grid_blocks(tuple(input_shape), classes, cfg.channels))


def compute_table(store: ArtifactStore, cfg: LatencyTableConfig, input_shape: tuple[int, int, int], classes: int,
                  latency_device: str = "cpu", progress=None) -> Ref:  # fmt: skip
    frame = measure(tuple(input_shape), classes, cfg, latency_device, progress)
    payload = _table_payload(cfg, input_shape, classes, latency_device)
    with store.writer(TABLE_STAGE, table_key(cfg, input_shape, classes, latency_device), config=payload) as w:
        w.write_parquet(TABLE, pa.Table.from_pandas(frame, preserve_index=False), TABLE_SCHEMA)
        w.rows = len(frame)
        w.meta.update(device=describe(latency_device))
    return w.ref


def load_table(ref: Ref) -> LatencyTable:
    return LatencyTable(store_of(ref).read_parquet(ref, TABLE).to_pandas())


def _model_payload(cfg: LatencyModelConfig, latency_device: str) -> dict:
    return {"latency_model": cfg.model_dump(mode="json"), "device": describe(latency_device)["identity"]}


def model_key(table_ref: Ref, cfg: LatencyModelConfig, latency_device: str = "cpu") -> str:
    return content_key(MODEL_STAGE, _model_payload(cfg, latency_device), upstream=[table_ref])


def sample_networks(cfg: LatencyModelConfig, input_shape: tuple[int, int, int], classes: int) -> list[MacroArch]:
    """The seeded random networks the predictor is fitted and validated on."""
    rng = np.random.default_rng(cfg.seed)
    out = []
    for _ in range(cfg.networks):
        cap = float(np.exp(rng.uniform(np.log(CHANNELS[0]), np.log(cfg.max_channels))))
        widths = tuple(c for c in CHANNELS if c <= max(CHANNELS[0], cap))
        out.append(random_macro(rng, max_layers=cfg.max_layers, channels=widths, input_shape=input_shape,
                                classes=classes))  # fmt: skip
    return out


def compute_model(store: ArtifactStore, table_ref: Ref, cfg: LatencyModelConfig, latency_device: str = "cpu",
                  progress=None) -> Ref:  # fmt: skip
    config = store_of(table_ref).manifest(table_ref.stage, table_ref.key)["config"]
    shape, classes = tuple(config["input_shape"]), config["classes"]
    table = load_table(table_ref)
    rows = []
    for m in sample_networks(cfg, shape, classes):
        t = time_module(build_network(m), shape, cfg.timing, latency_device)
        total, n = table.network_sum(m)
        cost = macro_cost(m)
        rows.append({"macro": m.to_json(), "arch_id": m.arch_id, "positions": len(m.layers), "params": cost.params,
                     "flops": cost.flops, "blocks": n, "table_sum_ms": total, "measured_ms": t.median_ms,
                     "p10_ms": t.p10_ms, "p90_ms": t.p90_ms})  # fmt: skip
        if progress is not None:
            progress(1)
    frame = pd.DataFrame(rows)
    holdout = np.zeros(len(frame), dtype=bool)
    holdout[np.random.default_rng(cfg.seed + 1).permutation(len(frame))[: round(cfg.holdout * len(frame))]] = True
    frame["split"] = np.where(holdout, "holdout", "fit")
    train = frame[~holdout]
    predictor = fit(table, train.table_sum_ms.to_numpy(), train.blocks.to_numpy(), train.measured_ms.to_numpy())
    frame["predicted_ms"] = [predictor.corrected(s, n) for s, n in zip(frame.table_sum_ms, frame.blocks)]
    metrics = {split: accuracy(g.predicted_ms, g.measured_ms) for split, g in frame.groupby("split")}
    metrics["table_sum_only_holdout"] = accuracy(frame.table_sum_ms[holdout], frame.measured_ms[holdout])
    metrics["device"] = describe(latency_device)
    metrics["timing"] = cfg.timing.model_dump()
    with store.writer(MODEL_STAGE, model_key(table_ref, cfg, latency_device),
                      config=_model_payload(cfg, latency_device), upstream=[table_ref]) as w:  # fmt: skip
        w.write_parquet(MEASURED, pa.Table.from_pandas(frame, preserve_index=False), MEASURED_SCHEMA)
        w.write_json("model.json", predictor.coefficients())
        w.write_json(METRICS, metrics)
        w.write_bytes("accuracy.png", accuracy_png(frame, metrics))
        w.rows = len(frame)
        w.meta.update(metrics={k: metrics[k] for k in ("fit", "holdout")})
    return w.ref


def load_predictor(ref: Ref) -> LatencyPredictor:
    """The fitted predictor of a `latency_model` artifact (its table read from upstream)."""
    coef = store_of(ref).read_json(ref, "model.json")
    return LatencyPredictor(load_table(upstream_of(ref, TABLE_STAGE)), **coef)


def _measured_payload(macro, cfg: TimingConfig, latency_device: str) -> dict:
    return {"arch_id": macro.arch_id, "macro": macro.to_dict(), "timing": cfg.model_dump(mode="json"),
            "device": describe(latency_device)["identity"]}  # fmt: skip


def measured_key(macro: MacroArch, cfg: TimingConfig, latency_device: str = "cpu") -> str:
    return content_key(MEASURED_STAGE, _measured_payload(macro, cfg, latency_device))


def compute_measured(store: ArtifactStore, macro: MacroArch, cfg: TimingConfig, latency_device: str = "cpu") -> Ref:
    """Time ``macro`` (a MacroArch or a plain reference network) on ``latency_device`` with ``cfg``."""
    t = time_module(build(macro), tuple(macro.input_shape), cfg, latency_device)
    result = {**t.to_dict(), "arch_id": macro.arch_id, "device": describe(latency_device), "timing": cfg.model_dump()}
    with store.writer(MEASURED_STAGE, measured_key(macro, cfg, latency_device),
                      config=_measured_payload(macro, cfg, latency_device)) as w:  # fmt: skip
        w.write_json("latency.json", result)
        w.meta.update(median_ms=t.median_ms)
    return w.ref


def measured(store: ArtifactStore, macro: MacroArch, cfg: TimingConfig, latency_device: str = "cpu") -> Ref:
    """The stored `latency` artifact of ``macro`` under these settings, timing it first when there is none (what
    ``Stage.run`` does, here without the registry, which imports the stages that call this; leased as it is)."""
    return once(store, MEASURED_STAGE, measured_key(macro, cfg, latency_device),
                lambda: compute_measured(store, macro, cfg, latency_device))  # fmt: skip


def measured_ms(ref: Ref) -> float:
    """The median latency (ms) of a `latency` artifact."""
    return store_of(ref).read_json(ref, "latency.json")["median_ms"]


def latency_functions(ref: Ref, request) -> tuple:
    """(predict, measure) of a `latency_model` artifact for a generate request on its latency device: the
    predictor, and the timing the model was fitted with (median ms of a network built from a MacroArch)."""
    identity = describe(request.latency_device)["identity"]
    config = store_of(ref).manifest(ref.stage, ref.key)["config"]
    if config["device"] != identity:
        raise ConfigError(
            f"the latency model {ref.uri} is of {config['device']}, the request's latency device "
            f"{request.latency_device} is {identity}: build its model there (`nasgen latency`)"
        )
    table = store_of(ref).manifest(TABLE_STAGE, upstream_of(ref, TABLE_STAGE).key)["config"]
    if tuple(table["input_shape"]) != tuple(request.input_shape) or table["classes"] != request.classes:
        raise ConfigError(f"the latency model {ref.uri} is for input {tuple(table['input_shape'])} and "
                          f"{table['classes']} classes, the request for {tuple(request.input_shape)} and "
                          f"{request.classes}")  # fmt: skip
    predictor = load_predictor(ref)
    timing = LatencyModelConfig(**config["latency_model"]).timing

    def measure(m: MacroArch) -> float:  # cached in the model's store: a network is timed once per setting
        return measured_ms(measured(store_of(ref), m, timing, request.latency_device))

    return predictor.predict, measure


def accuracy_png(frame: pd.DataFrame, metrics: dict) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for split, colour in (("fit", "tab:blue"), ("holdout", "tab:orange")):
        g = frame[frame.split == split]
        ax.scatter(g.measured_ms, g.predicted_ms, s=10, c=colour, alpha=0.7,
                   label=f"{split}: {metrics[split]['within_10pct']:.0%} within ±10%")  # fmt: skip
    lo, hi = frame.measured_ms.min() * 0.8, frame.measured_ms.max() * 1.2
    xs = np.geomspace(lo, hi, 50)
    ax.plot(xs, xs, "k-", lw=0.8)
    ax.fill_between(xs, xs * 0.9, xs * 1.1, color="grey", alpha=0.2, label="±10%")
    ax.set(xscale="log", yscale="log", xlabel="measured latency (ms)", ylabel="predicted latency (ms)",
           title="latency predictor: table sum + learnt correction")  # fmt: skip
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
