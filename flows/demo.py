"""`make demo`: the whole pipeline at a profile on the embedded defaults, printing the result.

`pretrain` (sample cells, ZC-score the labelled subset, cluster, G-VAE, CCNF, HL-Evo per constraint level,
SG), then `generate` for the profile's demo budget: the chosen networks are printed and exported.
"""

from __future__ import annotations

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from flows.generate import generate
from flows.options import RunOptions
from flows.pretrain import pretrain
from nasgen.config import Profile, resolve_profile
from nasgen.generate.report import show_generation
from nasgen.generate.request import GenerateRequest
from nasgen.space.cell import Cell
from nasgen.space.cost import counted_macro_cost, macro_cost
from nasgen.space.macro import HLSequence, reference_macro
from nasgen.stages import ccnf, cells, clusters, hl_evo, zc
from nasgen.stages import generate as generate_stage
from nasgen.stages import gvae as gvae_stage
from nasgen.stages.readers import metrics
from nasgen.store import ArtifactStore


def run_demo(profile: str | Profile = "demo", store: str | None = None, console: Console | None = None) -> dict:
    console = console or Console()
    prof = resolve_profile(profile)
    st = ArtifactStore(store)
    run = RunOptions(profile=prof, store=st.root)
    refs = pretrain(run=run)
    ref = refs["cells"]
    table = cells.load_cells(st, ref)
    codes = table.column("code").to_numpy()
    n_ops = np.bincount(table.column("n_ops").to_numpy(), minlength=7)[1:]
    console.print(f"[bold]cells[/bold]: {ref.rows} unique canonical cells at {ref.uri}")
    console.print(f"op-count histogram (1..6 ops): {n_ops.tolist()}")
    t = Table(title=f"{prof.describe_examples} cells on the reference macro alpha_x (3x32x32, 10 classes)")
    for col in ("cell_id", "ops", "edges", "params", "FLOPs (MACs)", "hook count agrees"):
        t.add_column(col)
    examples = []
    for code in codes[: prof.describe_examples]:
        cell = Cell.from_code(int(code))
        macro = reference_macro(cell)
        a, c = macro_cost(macro), counted_macro_cost(macro)
        t.add_row(
            cell.cell_id,
            " ".join(cell.node_names[1:-1]),
            str(len(cell.edges)),
            f"{a.params:,}",
            f"{a.flops:,}",
            str(a == c),
        )
        examples.append({"cell_id": cell.cell_id, "params": a.params, "flops": a.flops, "agrees": a == c})
    console.print(t)
    scores = _show_scores(st, refs["zc"], console)
    families = _show_clusters(st, refs["clusters"], console)
    gvae_metrics = _show_gvae(st, refs["gvae"], console)
    ccnf_metrics = _show_ccnf(st, refs["ccnf"], console)
    searches = _show_search(st, refs["hl_evo"], console)
    m = metrics(refs["sg"])
    console.print(f"[bold]SG[/bold] (GPT-Neo, {m['parameters']:,} parameters) on {m['rows']} HL-Evo networks "
                  f"({m['distinct_sequences']} distinct sequences): held-out loss {m['val_loss']:.3f} nats/token, "
                  f"{m['sample_validity']:.0%} of samples parse")  # fmt: skip
    gen_ref = generate(
        request=GenerateRequest(max_params=prof.demo_budget), run=RunOptions(profile=prof, store=st.root)
    )
    summary = generate_stage.summary(gen_ref)
    show_generation(summary, gen_ref.uri, console)
    return {"ref": ref.model_dump(), "op_count_histogram": n_ops.tolist(), "examples": examples, "zc": scores,
            "clusters": families, "gvae": gvae_metrics, "ccnf": ccnf_metrics, "search": searches,
            "sg": m, "generate": summary}  # fmt: skip


def _show_search(st: ArtifactStore, refs, console: Console) -> list[dict]:
    t = Table(title="HL-Evo (Algorithm 1): best network per constraint level, by T-CET")
    for col in ("constraint", "best T-CET", "params", "FLOPs", "positions", "evaluations", "HL sequence (k/ch/s)"):
        t.add_column(col)
    out = []
    for r in refs:
        stats, best = hl_evo.stats(r), hl_evo.best(r)
        seq = HLSequence.from_json(best["hl_sequence"])
        t.add_row(stats["constraint"], f"{best['fitness']:.1f}", f"{best['params']:,}", f"{best['flops']:,}",
                  str(len(seq.layers)), str(stats["evaluations"]),
                  " ".join(f"{x.cluster}/{x.channels}/{x.stride}" for x in seq.layers))  # fmt: skip
        out.append({"ref": r.model_dump(), **stats})
    console.print(t)
    console.print("search curves: " + ", ".join(st.uri(hl_evo.STAGE, r.key, hl_evo.CURVE) for r in refs))
    return out


def _show_ccnf(st: ArtifactStore, ref, console: Console, draws: int = 16) -> dict:
    m = metrics(ref)
    console.print(
        f"[bold]CCNF[/bold] on {m['cells']} latents, {m['epochs']} epochs: held-out NLL {m['val_nll_per_dim']:.3f}"
        f" nats/dim, {m['nfe_forward']:.0f} function evaluations per solve, end time {m['end_time']}"
    )
    sampler = ccnf.load_sampler(st, ref)
    gen = torch.Generator().manual_seed(0)
    t = Table(title="GenCell: CCNF samples for each cluster mean, decoded by the G-VAE")
    for col in ("cluster", "decoding success (200 draws)", "a sampled cell"):
        t.add_column(col)
    for k, ok in enumerate(m["cluster_success"]):
        drawn = sampler.draw(sampler.cluster_condition(k).expand(draws, -1), gen)
        t.add_row(str(k), f"{ok:.2f}", next((str(d.cell) for d in drawn if d.ok), "-"))
    console.print(t)
    return {"ref": ref.model_dump(), **m}


def _show_gvae(st: ArtifactStore, ref, console: Console) -> dict:
    m = metrics(ref)
    t = Table(title=f"G-VAE on {m['cells']} cells ({m['labelled']} labelled), {m['epochs']} epochs; held-out metrics")
    for col in ("reconstruction", "validity", "uniqueness", "novelty", "ZC preservation", "predictor R2"):
        t.add_column(col)
    t.add_row(*(f"{m[k]:.3f}" for k in ("reconstruction", "validity", "uniqueness", "novelty", "zc_preservation",
                                          "predictor_r2")))  # fmt: skip
    console.print(t)
    console.print(f"latent t-SNE by cluster: {ref.uri}/{gvae_stage.TSNE}")
    return {"ref": ref.model_dump(), **m}


def _show_clusters(st: ArtifactStore, ref, console: Console) -> dict:
    info = clusters.model_info(ref)
    model = clusters.load_model(st, ref)
    means = model.transform.inverse(model.means)
    t = Table(title=f"{info['k']} cell families (GMM on the transformed ZC vector; K where BIC and AICc plateau)")
    for col in ("cluster", "cells", "weight", *(f"mean {c}" for c in model.transform.components)):
        t.add_column(col)
    for k in np.argsort(-model.weights):
        t.add_row(str(k), str(info["sizes"][k]), f"{model.weights[k]:.2f}", *(f"{v:.4g}" for v in means[k]))
    console.print(t)
    console.print(f"model selection curve: {ref.uri}/{clusters.SELECTION_PNG}")
    return {"ref": ref.model_dump(), "k": info["k"], "sizes": info["sizes"]}


def _show_scores(st: ArtifactStore, ref, console: Console, top: int = 5) -> dict:
    stats = zc.stats(ref)
    df = zc.load_scores(st, ref).to_pandas()
    console.print(f"[bold]zc[/bold]: {ref.rows} cells scored at {ref.uri}; statuses {stats['statuses']}")
    t = Table(title=f"top {top} cells by T-CET (ZC vector z = NASWOT, SNIP-SSNR, params, FLOPs)")
    for col in ("cell_id", "T-CET", "NASWOT", "SNIP-SSNR", "params", "FLOPs", "s"):
        t.add_column(col)
    best = df[df.status == "ok"].nlargest(top, "tcet")
    for r in best.itertuples():
        t.add_row(r.cell_id, f"{r.tcet:.4g}", f"{r.naswot:.2f}", f"{r.snip_ssnr:.4g}", f"{int(r.params):,}",
                  f"{int(r.flops):,}", f"{r.seconds:.2f}")  # fmt: skip
    console.print(t)
    console.print(f"mean seconds per cell: {df.seconds.mean():.3f}")
    return {"ref": ref.model_dump(), "statuses": stats["statuses"], "best": best.cell_id.tolist()}
