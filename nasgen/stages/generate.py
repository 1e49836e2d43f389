"""Stage `generate`: networks for one request from the cached SG + CCNF + G-VAE (never retrains them).

Key: the request, the generate config and the SG key; the same request on the same models returns the
stored result. Written: ``candidates.parquet`` (every sampled sequence: its network, cost, budget check,
ZC record, rank), ``summary.json`` (request, SG condition, counts, timings, chosen), and per chosen network
``rank<i>.json`` (MacroArch spec), ``rank<i>.safetensors`` (its scored initialisation) and ``rank<i>.png``.
"""

from __future__ import annotations

import pyarrow as pa

from nasgen.errors import ConfigError
from nasgen.generate.candidates import Generation, run
from nasgen.generate.config import GenerateConfig
from nasgen.generate.export import export_network, load_network
from nasgen.generate.picture import network_png
from nasgen.generate.request import LATENCY_FIELDS, GenerateRequest
from nasgen.space.macro import MacroArch
from nasgen.stages import ccnf as ccnf_stage
from nasgen.stages import latency as latency_stage
from nasgen.stages import sg as sg_stage
from nasgen.store import ArtifactStore, Ref, content_key, open_ref, store_of, upstream_of

STAGE = "generate"
CANDIDATES = "candidates.parquet"
BASE_FIELDS = [
    pa.field("index", pa.int64(), nullable=False),
    pa.field("hl_sequence", pa.string()),
    pa.field("macro", pa.string()),
    pa.field("arch_id", pa.string()),
    pa.field("positions", pa.int32()),
    pa.field("params", pa.int64()),
    pa.field("flops", pa.int64()),
    pa.field("satisfies", pa.bool_(), nullable=False),
    pa.field("width", pa.float64(), nullable=False),  # channels' factor to meet the budget (1.0: as proposed)
    pa.field("latency_ms", pa.float64()),  # predicted on the request's latency device; null without a latency model
    pa.field("status", pa.string()),  # of ZC scoring; null when not scored (invalid or over budget)
    pa.field("fitness", pa.float64(), nullable=False),  # the objective's value; -inf when not scored
    pa.field("rank", pa.int32()),
    pa.field("error", pa.string()),
]


def key(sg_ref: Ref, request: GenerateRequest, cfg: GenerateConfig, latency_ref: Ref | None = None) -> str:
    return content_key(STAGE, _payload(request, cfg), upstream=[sg_ref, *([latency_ref] if latency_ref else [])])


def _payload(request: GenerateRequest, cfg: GenerateConfig) -> dict:
    later = {"objective"} if cfg.objective == "tcet" else set()  # added later; earlier keys unchanged
    no_latency = set(LATENCY_FIELDS) if request.max_latency_ms is None else set()
    return {"request": request.model_dump(mode="json", exclude=no_latency),
            "generate": cfg.model_dump(mode="json", exclude=later)}  # fmt: skip


def schema(proxies: tuple[str, ...]) -> pa.Schema:
    names = {f.name for f in BASE_FIELDS}
    return pa.schema(BASE_FIELDS + [pa.field(p, pa.float64()) for p in proxies if p not in names])


def compute(store: ArtifactStore, sg_ref: Ref, request: GenerateRequest, cfg: GenerateConfig,
            latency_ref: Ref | None = None, device: str = "cpu", progress=None) -> Ref:  # fmt: skip
    """``latency_ref``: the `latency_model` of the request's latency device, for a latency budget."""
    ccnf_ref = upstream_of(sg_ref, ccnf_stage.STAGE)
    model, tokenizer = sg_stage.load_model(store_of(sg_ref), sg_ref, device)
    sampler = ccnf_stage.load_sampler(store_of(ccnf_ref), ccnf_ref, device)
    predict, measure = latency_stage.latency_functions(latency_ref, request) if latency_ref else (None, None)
    result = run(request, model, tokenizer, sampler, cfg, device, progress, predict, measure)
    zc = request.scorer_config(cfg.zc)
    upstream = [sg_ref, ccnf_ref, *([latency_ref] if latency_ref else [])]
    with store.writer(STAGE, key(sg_ref, request, cfg, latency_ref), config=_payload(request, cfg),
                      upstream=upstream) as w:  # fmt: skip
        w.write_parquet(CANDIDATES, to_table(result, zc.proxies), schema(zc.proxies))
        for c in result.chosen:
            spec, weights = export_network(c.macro, zc.seed)
            w.write_bytes(f"rank{c.rank}.json", spec.encode())
            w.write_bytes(f"rank{c.rank}.safetensors", weights)
            value = f"T-CET {c.fitness:.1f}" if cfg.objective == "tcet" else f"{cfg.objective} {c.fitness:.4g}"
            title = f"rank {c.rank}: {value}, "
            w.write_bytes(f"rank{c.rank}.png", network_png(c.macro, c.seq, title +
                                                           f"{c.params:,} params, {c.flops:,} FLOPs"))  # fmt: skip
        summary = summarise(result)
        w.write_json("summary.json", summary)
        w.rows = len(result.candidates)
        w.meta.update(counts=summary["counts"])
    return w.ref


def summarise(result: Generation) -> dict:
    return {
        "request": result.request.model_dump(mode="json"),
        "objective": result.objective,
        "condition": result.condition,
        "counts": result.counts(),
        "warnings": result.warnings,
        "seconds": result.seconds,
        "chosen": [
            {
                "rank": c.rank,
                "arch_id": c.macro.arch_id,
                "fitness": c.fitness,  # the objective's value
                "tcet": c.record.get("tcet", c.fitness),
                "params": c.params,
                "flops": c.flops,
                "positions": len(c.macro.layers),
                "width": c.width,
                "latency_ms": c.latency_ms,  # predicted (with a latency model)
                "measured_latency_ms": c.measured_latency_ms,  # measured (with a latency budget)
                "hl_sequence": c.seq.to_json(),
            }
            for c in result.chosen
        ],  # fmt: skip
    }


def to_table(result: Generation, proxies: tuple[str, ...]) -> pa.Table:
    sch = schema(proxies)
    rows = []
    for c in result.candidates:
        row = {"index": c.index, "hl_sequence": None if c.seq is None else c.seq.to_json(),
               "macro": None if c.macro is None else c.macro.to_json(),
               "arch_id": None if c.macro is None else c.macro.arch_id,
               "positions": None if c.seq is None else len(c.seq.layers), "params": c.params, "flops": c.flops,
               "satisfies": c.satisfies, "width": c.width, "latency_ms": c.latency_ms, "status": c.record.get("status"),
               "fitness": c.fitness,
               "rank": c.rank, "error": c.error or c.record.get("error")}  # fmt: skip
        row.update({p: c.record.get(p) for p in proxies if p not in row})
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=sch)


def summary(ref: Ref) -> dict:
    """``summary.json``: request, objective, SG condition, counts, timings and the chosen networks (rank, the
    objective's value, T-CET, cost)."""
    return store_of(ref).read_json(ref, "summary.json")


def chosen_spec(ref: Ref, rank: int) -> str:
    """The MacroArch JSON of the rank-``rank`` chosen network."""
    n = len(summary(ref)["chosen"])
    if not 1 <= rank <= n:
        raise ConfigError(f"{ref.uri} holds ranks 1..{n}, not {rank}")
    return store_of(ref).read_bytes(ref, f"rank{rank}.json").decode()


def chosen_macros(ref: Ref) -> list[tuple[MacroArch, float]]:
    """Every chosen network, best first, with its objective's value."""
    return [(MacroArch.from_json(chosen_spec(ref, c["rank"])), c.get("fitness", c["tcet"]))
            for c in summary(ref)["chosen"]]  # fmt: skip


def chosen_picture(ref: Ref, rank: int) -> bytes:
    return store_of(ref).read_bytes(ref, f"rank{rank}.png")


def load_chosen(uri: str, rank: int = 1, device: str = "cpu"):
    """The exported module of the rank-``rank`` network of a committed `generate` artifact."""
    store, ref = open_ref(uri, stage=STAGE)
    return load_network(chosen_spec(ref, rank), store.read_bytes(ref, f"rank{rank}.safetensors"), device)
