"""Stage `export`: one chosen or trained network as an ONNX or TorchScript file with its model card.

Source: a `generate` artifact (its rank-``rank`` network, with the scored initialisation) or a `trained`
artifact (the trained weights). Key: the source, rank, format, export config and the identity of the device
the card's latency is measured on. The file is checked against PyTorch before anything is committed (an export
whose logits differ beyond the tolerance is an error, not an artifact). Written: ``model.onnx`` or ``model.pt``,
``card.json``, ``card.md`` and, for a macro-space network, ``network.png``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from torch import nn

from nasgen.device import describe
from nasgen.errors import ConfigError, NasgenError
from nasgen.exports.card import card_markdown, model_card
from nasgen.exports.config import FORMATS, ExportConfig, ExportFormat
from nasgen.exports.formats import max_abs_difference, to_torchscript
from nasgen.generate.export import load_network
from nasgen.generate.picture import network_png
from nasgen.onnx_format import to_onnx
from nasgen.space.cost import count_module, macro_cost
from nasgen.space.macro import MacroArch
from nasgen.stages import generate, trained
from nasgen.stages import latency as latency_stage
from nasgen.stages.readers import metrics
from nasgen.store import ArtifactStore, Ref, content_key, store_of
from nasgen.train.checkpoint import load_checkpoint
from nasgen.train.references import PlainNet

STAGE = "export"
FILES = {"onnx": "model.onnx", "torchscript": "model.pt"}
SOURCES = (generate.STAGE, trained.STAGE)


class ExportMismatchError(NasgenError):
    """An exported file does not reproduce PyTorch's output within the tolerance."""


@dataclass(frozen=True)
class Source:
    """What an export needs of its source artifact."""

    net: nn.Module
    spec: MacroArch | PlainNet
    picture: bytes | None
    zc: dict | None
    training: dict | None
    provenance: dict


def key(source_ref: Ref, fmt: ExportFormat, cfg: ExportConfig, rank: int = 1, latency_device: str = "cpu") -> str:
    return content_key(STAGE, _payload(fmt, cfg, rank, latency_device), upstream=[source_ref])


def _payload(fmt: str, cfg: ExportConfig, rank: int, latency_device: str) -> dict:
    return {"format": fmt, "rank": rank, "export": cfg.model_dump(mode="json"),
            "latency_device": describe(latency_device)["identity"]}  # fmt: skip


def check(source_stage: str, fmt: str | None = None) -> None:
    """What an export refuses before any work: an unknown format, a source that is no generate/trained artifact."""
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    if source_stage not in SOURCES:
        raise ConfigError(f"a {source_stage!r} artifact cannot be exported; export takes a {' or '.join(SOURCES)} "
                          "artifact")  # fmt: skip


def compute(store: ArtifactStore, source_ref: Ref, fmt: ExportFormat, cfg: ExportConfig, rank: int = 1,
            latency_device: str = "cpu") -> Ref:  # fmt: skip
    check(source_ref.stage, fmt)
    src = source(source_ref, rank)
    shape = tuple(src.spec.input_shape)
    data = to_onnx(src.net, shape, cfg.opset) if fmt == "onnx" else to_torchscript(src.net, shape)
    diff = max_abs_difference(src.net, data, fmt, shape, cfg.parity_batches)
    if not diff <= cfg.tolerance:
        raise ExportMismatchError(f"{fmt} export of {src.spec.arch_id} differs from PyTorch by {diff:.3g} "
                                  f"(> tolerance {cfg.tolerance:g})")  # fmt: skip
    card = card_of(src, store, cfg, latency_device, export={
        "format": fmt, "opset": cfg.opset if fmt == "onnx" else None, "file": FILES[fmt],
        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "max_abs_difference": diff,
        "parity_batches": list(cfg.parity_batches), "dynamic_batch": True})  # fmt: skip
    with store.writer(STAGE, key(source_ref, fmt, cfg, rank, latency_device),
                      config=_payload(fmt, cfg, rank, latency_device), upstream=[source_ref]) as w:  # fmt: skip
        w.write_bytes(FILES[fmt], data)
        w.write_json("card.json", card)
        w.write_bytes("card.md", card_markdown(card).encode())
        if src.picture:
            w.write_bytes("network.png", src.picture)
        w.meta.update(arch_id=src.spec.arch_id, format=fmt, max_abs_difference=diff)
    return w.ref


def card_of(src: Source, store: ArtifactStore, cfg: ExportConfig, latency_device: str = "cpu",
            export: dict | None = None) -> dict:  # fmt: skip
    """The model card of a source network, its latency on ``latency_device`` with ``cfg.timing`` (stage
    `latency` in ``store``: measured once per network, device and settings, so a card written again costs none)."""
    shape = tuple(src.spec.input_shape)
    timing = store.read_json(latency_stage.measured(store, src.spec, cfg.timing, latency_device), "latency.json")
    cost = macro_cost(src.spec) if isinstance(src.spec, MacroArch) else count_module(src.net, shape)
    return model_card(
        name=f"nasgen network {src.spec.arch_id}", architecture=src.spec.to_dict(),
        picture="network.png" if src.picture else None, params=cost.params, flops=cost.flops,
        input_shape=list(shape), classes=src.spec.classes,
        latency={k: timing[k] for k in ("median_ms", "p10_ms", "p90_ms", "repeats", "threads", "device")}
        | {"settings": cfg.timing.model_dump()},
        zc=src.zc, training=src.training, provenance=src.provenance, export=export,
    )  # fmt: skip


def source(ref: Ref, rank: int = 1) -> Source:
    """The network of a `generate` (rank ``rank``) or `trained` artifact, with the facts its card states."""
    check(ref.stage)
    store = store_of(ref)
    manifest = store.manifest(ref.stage, ref.key)
    upstream = {u["stage"]: u["key"] for u in manifest.get("upstream_refs", [])}
    if ref.stage == generate.STAGE:
        spec_json = generate.chosen_spec(ref, rank)
        net = load_network(spec_json, store.read_bytes(ref, f"rank{rank}.safetensors"))
        summary = generate.summary(ref)
        row = store.read_parquet(ref, generate.CANDIDATES).to_pandas().query("rank == @rank").iloc[0]
        base = {f.name for f in generate.BASE_FIELDS}
        zc = {k: float(v) for k, v in row.items() if k not in base and v is not None and v == v}
        provenance = {"found_by": "nasgen generate", "artifact": ref.uri, "rank": rank, "request": summary["request"],
                      "objective": summary.get("objective", "tcet"), "condition": summary.get("condition"),
                      "seed": summary["request"]["seed"], "pretrained": upstream}  # fmt: skip
        return Source(net, MacroArch.from_json(spec_json), generate.chosen_picture(ref, rank), zc, None, provenance)
    if rank != 1:
        raise ConfigError(f"{ref.uri} is a trained network: it has no rank {rank}")
    net, spec = load_checkpoint(store.read_bytes(ref, "checkpoint.safetensors"))
    config = manifest["config"]
    training = {"dataset": config["dataset"], "recipe": config["recipe"], "metrics": metrics(ref)}
    picture = network_png(spec, title=spec.arch_id) if isinstance(spec, MacroArch) else None
    provenance = {"found_by": "nasgen trained", "artifact": ref.uri, "seed": config["recipe"].get("seed")}
    return Source(net, spec, picture, None, training, provenance)
