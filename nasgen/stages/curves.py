"""Stage `curves`: the learning curves of many `trained` artifacts gathered into one Parquet table (one row per
run: the network's spec and encoding, the recipe, the seed, the per-epoch curves, the final test accuracy and
the network's ZC record under ``zc``), the data of the curve surrogate and of LcSVR (nasgen.curves); and the
extrapolator ``lce`` selection fits on it.

Key: the trained artifacts' keys (sorted) and the ZC config. Written: ``curves.parquet``, ``summary.json`` and
``curves.png`` (every validation curve).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from nasgen.curves.config import LCEConfig
from nasgen.curves.encoding import encode
from nasgen.curves.lce import LcSVR, few_epochs, wpm_extrapolate
from nasgen.curves.table import CURVE_COLUMNS, ZC_PREFIX, check_one_protocol, curves, features, schema
from nasgen.errors import ConfigError, NasgenError
from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch
from nasgen.stages import trained as trained_stage
from nasgen.stages.readers import metrics
from nasgen.store import ArtifactStore, Ref, content_key, store_of
from nasgen.train.config import DatasetConfig, TrainRecipe
from nasgen.zc.config import ZCConfig
from nasgen.zc.scorer import Scorer

STAGE = "curves"
TABLE = "curves.parquet"
SUMMARY = "summary.json"


def key(trained_refs: list[Ref], zc: ZCConfig) -> str:
    return content_key(STAGE, zc, upstream=sorted(trained_refs, key=lambda r: r.key))


def _run_row(ref: Ref) -> dict:
    if ref.stage != trained_stage.STAGE:
        raise ConfigError(f"the curve table gathers `trained` artifacts, got a {ref.stage} artifact ({ref.uri})")
    conf = store_of(ref).manifest(ref.stage, ref.key)["config"]
    try:
        macro = MacroArch.from_dict(conf["macro"])
    except (NasgenError, KeyError, TypeError) as e:
        raise ConfigError(f"{ref.uri} did not train a macro network (a hand-designed one?): the curve table "
                          "holds networks of the macro space") from e  # fmt: skip
    c, m = trained_stage.curve(ref), metrics(ref)
    recipe = {k: v for k, v in conf["recipe"].items() if k != "seed"}
    cost = macro_cost(macro)
    return {"arch_id": macro.arch_id, "trained_key": ref.key, "spec": macro.to_json(),
            "recipe": json.dumps(recipe, sort_keys=True), "dataset": json.dumps({**conf["dataset"], "root": None},
                                                                                sort_keys=True),
            "seed": int(conf["recipe"]["seed"]), "epochs": len(c["epoch"]), "params": cost.params,
            "flops": cost.flops, "test_top1": float(m["test_top1"]), "seconds": float(m["seconds"]),
            "encoding": encode(macro).tolist(), **{k: [float(v) for v in c[k]] for k in CURVE_COLUMNS}}  # fmt: skip


def compute(store: ArtifactStore, trained_refs: list[Ref], zc: ZCConfig, device: str = "cpu",
            progress=None) -> Ref:  # fmt: skip
    """Gather the runs and score each distinct network once on ``device`` (not part of the key)."""
    if not trained_refs:
        raise ConfigError("the curve table needs at least one trained artifact")
    rows = [_run_row(r) for r in trained_refs]
    scorer, records = Scorer(zc, device), {}
    for r in rows:
        if r["arch_id"] not in records:
            records[r["arch_id"]] = scorer.score_macro(MacroArch.from_json(r["spec"]))
            if progress is not None:
                progress(1)
    for r in rows:
        r.update({ZC_PREFIX + p: v for p, v in zip(zc.proxies, _zc_values(records[r["arch_id"]], zc.proxies))})
    table = pa.Table.from_pylist(rows, schema=schema(zc.proxies))
    summary = {"runs": len(rows), "networks": len(records), "epochs": sorted({r["epochs"] for r in rows}),
               "protocols": len({(r["recipe"], r["dataset"]) for r in rows}),
               "final_val_top1": _stats([r["val_top1"][-1] for r in rows])}  # fmt: skip
    with store.writer(STAGE, key(trained_refs, zc), config=zc, upstream=sorted(trained_refs, key=lambda r: r.key)) as w:
        w.write_parquet(TABLE, table, table.schema)
        w.write_json(SUMMARY, summary)
        w.write_bytes("curves.png", curves_png(rows))
        w.rows = len(rows)
        w.meta.update(summary=summary)
    return w.ref


def _zc_values(record: dict, proxies) -> list[float | None]:
    """A ZC record's values of ``proxies`` as the table holds them: None where the record failed or is not finite."""
    ok = record.get("status") == "ok"
    return [float(record[p]) if ok and record.get(p) is not None and math.isfinite(float(record[p])) else None
            for p in proxies]  # fmt: skip


def _stats(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"min": float(a.min()), "median": float(np.median(a)), "max": float(a.max())}


def curves_png(rows: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        ax.plot(range(1, len(r["val_top1"]) + 1), r["val_top1"], lw=0.6, alpha=0.4)
    ax.set(xlabel="epoch", ylabel="validation top-1", title=f"{len(rows)} learning curves")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def table(ref: Ref):
    """The curve table of a `curves` artifact as a pandas DataFrame."""
    return store_of(ref).read_parquet(ref, TABLE).to_pandas()


def lce_extrapolator(ref: Ref, cfg: LCEConfig, partial_run: Callable[[MacroArch, DatasetConfig, TrainRecipe], Ref],
                     device: str = "cpu") -> Callable[[MacroArch], float]:  # fmt: skip
    """For ``lce`` selection: a function that trains a network for the first E_few epochs of the curve table's
    recipe and data (``partial_run`` returns its `trained` artifact, cached like any other) and returns its
    final validation accuracy as LcSVR, fitted on the table, or WPM extrapolates it."""
    t = table(ref)
    recipe, dataset = check_one_protocol(t)
    zc = ZCConfig.model_validate(store_of(ref).manifest(ref.stage, ref.key)["config"])
    y = curves(t)
    model = LcSVR.fit(features(t, cfg.zc), y, cfg) if cfg.method == "svr" else None
    few, epochs = few_epochs(y.shape[1], cfg.few_fraction), y.shape[1]
    short = TrainRecipe.model_validate({**recipe, "seed": 0, "stop_after": few})
    data = DatasetConfig.model_validate(dataset)
    scorer = Scorer(zc, device) if model is not None else None

    def extrapolate(macro: MacroArch) -> float:
        partial = np.asarray(trained_stage.curve(partial_run(macro, data, short))["val_top1"], dtype=np.float64)
        if model is None:
            return wpm_extrapolate(partial, epochs, cfg)
        rec = scorer.score_macro(macro)
        x = np.array([[*encode(macro), *(np.nan if v is None else v for v in _zc_values(rec, cfg.zc))]])
        return float(model.predict(x, partial[None])[0])

    return extrapolate
