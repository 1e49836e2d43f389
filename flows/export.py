"""Flow `export`: a generated or trained network as an ONNX or TorchScript file with its model card, and the
cards the generate and evaluate flows attach. Ad hoc from Python:

    from flows.export import export_flow
    ref = export_flow("./artifacts/trained/<key>", fmt="onnx")
"""

from __future__ import annotations

import base64

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.options import RunOptions
from flows.reporting import artifact_key
from nasgen.exports.card import card_markdown
from nasgen.exports.config import ExportConfig, ExportFormat
from nasgen.stages import export as export_stage
from nasgen.store import ArtifactStore, Ref, open_ref, store_of
from tasks.stage import run_stage


@flow(name="export", log_prints=True)
def export_flow(source: str, fmt: ExportFormat = "onnx", rank: int = 1, run: RunOptions = RunOptions()) -> Ref:
    """Export the network of the artifact at ``source`` (a `generate` artifact's rank-``rank`` network or a
    `trained` one), checked against PyTorch, with its card (latency measured on the run's device)."""
    prof, device = run.settle()
    src_store, src_ref = open_ref(source)
    st = src_store if run.store is None else ArtifactStore(run.store)
    ref = run_stage("export", prof.orchestration, store=st.root, source_ref=src_ref, fmt=fmt, rank=rank,
                    cfg=prof.export, latency_device=device)  # fmt: skip
    card = store_of(ref).read_json(ref, "card.json")
    picture = store_of(ref).read_bytes(ref, "network.png") if card["picture"] else None
    publish_card(card, picture, artifact_key("export", ref.key))
    get_run_logger().info("export: %s (max |difference| %.2e) at %s", fmt, card["export"]["max_abs_difference"],
                          ref.uri)  # fmt: skip
    return ref


def publish_card(card: dict, picture: bytes | None, key: str) -> None:
    """A model card as a keyed Prefect markdown artifact, its picture inline."""
    uri = f"data:image/png;base64,{base64.b64encode(picture).decode()}" if picture else None
    create_markdown_artifact(card_markdown(card, uri), key=key, description=card["name"])


def attach_cards(refs_and_ranks: list[tuple[Ref, int]], cfg: ExportConfig, device: str) -> None:
    """The model card of each (generate artifact, rank) or (trained artifact, 1), published (no file export)."""
    for ref, rank in refs_and_ranks:
        src = export_stage.source(ref, rank)
        card = export_stage.card_of(src, store_of(ref), cfg, device)
        publish_card(card, src.picture, artifact_key("card", ref.key, rank))
