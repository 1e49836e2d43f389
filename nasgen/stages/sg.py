"""Stage `sg`: the sequence generator trained on the HL-Evo histories of every constraint level.

Rows: every accepted network of H that has an HL sequence and scored (status ok); its condition y is the
network's params, FLOPs and ZC values (``condition_fields``, columns of history.parquet). The key depends
on the SG config and the hl_evo keys, so a new level or a longer search retrains, the same inputs never do.
All levels must share one CCNF: the SG's cluster tokens name that CCNF's cell families.

Written: ``weights.safetensors`` (GPT-Neo, tied head stored once), ``model.json`` (GPT-Neo config, tokenizer
with its bin edges, SG config), ``history.parquet`` (loss per epoch), ``metrics.json``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nasgen.device import resolve_device
from nasgen.errors import ConfigError, CorruptArtifactError
from nasgen.sg.config import SGConfig
from nasgen.sg.model import restore, state_dict
from nasgen.sg.sampling import generate
from nasgen.sg.tokenizer import SGTokenizer
from nasgen.sg.training import Example, History, train
from nasgen.space.macro import HLSequence
from nasgen.stages import ccnf as ccnf_stage
from nasgen.stages import clusters as cluster_stage
from nasgen.stages import hl_evo as hl_evo_stage
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, open_ref, store_of, upstream_of

STAGE = "sg"
WEIGHTS = "weights.safetensors"
VALIDITY_SAMPLES = 200  # sampled sequences per artifact for its own parse-validity metric
HISTORY_SCHEMA = pa.schema([pa.field(n, pa.float64(), nullable=False) for n in ("train_loss", "val_loss")])


def key(hl_evo_refs: list[Ref], cfg: SGConfig) -> str:
    return content_key(STAGE, cfg, upstream=sorted(hl_evo_refs, key=lambda r: r.key))


def common_ccnf(hl_evo_refs: list[Ref]) -> Ref:
    if not hl_evo_refs:
        raise ConfigError("the SG trains on HL-Evo histories: give at least one hl_evo artifact")
    refs = {upstream_of(r, ccnf_stage.STAGE).key: upstream_of(r, ccnf_stage.STAGE) for r in hl_evo_refs}
    if len(refs) != 1:
        raise ConfigError(f"the hl_evo artifacts come from {len(refs)} different CCNFs; the SG needs one")
    return next(iter(refs.values()))


def training_examples(hl_evo_refs: list[Ref], cfg: SGConfig) -> list[Example]:
    examples = []
    for ref in hl_evo_refs:
        table = hl_evo_stage.load_history(store_of(ref), ref)
        missing = [f for f in cfg.condition_fields if f not in table.column_names]
        if missing:
            raise ConfigError(f"condition fields {missing} are not columns of the history at {ref.uri}; it has "
                              f"{table.column_names}")  # fmt: skip
        keep = pc.and_(pc.equal(table.column("status"), "ok"), pc.is_valid(table.column("hl_sequence")))
        for row in table.filter(keep).select(["hl_sequence", *cfg.condition_fields]).to_pylist():
            cond = {f: float(row[f]) for f in cfg.condition_fields if math.isfinite(float(row[f]))}
            examples.append(Example(HLSequence.from_json(row["hl_sequence"]), cond))
    return examples


def compute(store: ArtifactStore, hl_evo_refs: list[Ref], cfg: SGConfig, progress=None, device: str = "cpu") -> Ref:
    """Train on ``device`` (not part of the key)."""
    ccnf_ref = common_ccnf(hl_evo_refs)
    k = cluster_stage.load_model(*_clusters_of(ccnf_ref)).k
    examples = training_examples(hl_evo_refs, cfg)
    tokenizer = SGTokenizer.fit({f: [e.condition.get(f, np.nan) for e in examples] for f in cfg.condition_fields},
                                cfg.bins, k)  # fmt: skip
    t0 = time.perf_counter()
    model, hist = train(examples, tokenizer, cfg, progress, device=device)
    seconds = time.perf_counter() - t0
    metrics = {
        "rows": len(examples),
        "distinct_sequences": len({e.seq.seq_id for e in examples}),
        "vocab_size": tokenizer.vocab_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": len(hist.val_loss),
        "best_epoch": hist.best_epoch,
        "train_loss": hist.train_loss[hist.best_epoch],
        "val_loss": hist.val_loss[hist.best_epoch],
        "train_seconds": seconds,
        "sample_validity": sample_validity(model, tokenizer, examples, cfg.seed),
    }
    with store.writer(STAGE, key(hl_evo_refs, cfg), config=cfg, upstream=[*hl_evo_refs, ccnf_ref]) as w:
        w.write_safetensors(WEIGHTS, state_dict(model))
        w.write_json("model.json", {"gpt_neo": model.config.to_dict(), "tokenizer": tokenizer.to_json(),
                                    "config": cfg.model_dump(mode="json")})  # fmt: skip
        w.write_parquet("history.parquet", _history(hist), HISTORY_SCHEMA)
        w.write_json(METRICS, metrics)
        w.rows = len(examples)
        w.meta.update(metrics=metrics)
    return w.ref


def _clusters_of(ccnf_ref: Ref) -> tuple[ArtifactStore, Ref]:
    ref = upstream_of(ccnf_ref, cluster_stage.STAGE)
    return store_of(ref), ref


def sample_validity(model, tokenizer: SGTokenizer, examples: list[Example], seed: int) -> float:
    """Share of sequences, sampled for a typical condition (the median row's), that parse."""
    rows = sorted(examples, key=lambda e: e.condition.get("params", 0.0))
    out = generate(model, tokenizer, rows[len(rows) // 2].condition, VALIDITY_SAMPLES, seed=seed)
    return len(out.valid) / VALIDITY_SAMPLES


def _history(h: History) -> dict:
    return {"train_loss": h.train_loss, "val_loss": h.val_loss}


def load_model(store: ArtifactStore, ref: Ref, device: str = "cpu"):
    """(GPT-Neo in eval mode on ``device``, tokenizer) of a committed `sg` artifact."""
    info = store.read_json(ref, "model.json")
    try:
        tokenizer = SGTokenizer.from_json(info["tokenizer"])
        model = restore(info["gpt_neo"], store.read_safetensors(ref, WEIGHTS), ref.uri)
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptArtifactError(f"model.json of {ref.uri} does not describe an SG: {e}") from None
    return model.to(resolve_device(device)), tokenizer


def load(uri: str, device: str = "cpu"):
    store, ref = open_ref(uri, stage=STAGE)
    return load_model(store, ref, device)
