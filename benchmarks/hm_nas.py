"""`nasgen bench hm-nas`: HM-NAS (dissertation ch. 2), the weight-sharing baseline, on Fashion-MNIST.

Per space and seed: the multi-level supernet (stage `supernet`), its hierarchical masks and fine-tuning (stage
`hm_nas`), and the single-level supernet; three derivations (masks, and DARTS's heuristic on either supernet:
Table 2.5's rows). NB-201 derivations are looked up in the NB-201 table (CIFAR-10 accuracy of networks trained
on CIFAR-10, while our supernet saw Fashion-MNIST: said beside every figure). GraphNet derivations become macro
networks at the supernet's skeleton, narrowed to the budget where needed, trained with the fidelity study's
reduced recipe (cached `trained` artifacts) and set beside `bench table1`'s searched and generated picks at that
recipe. Reported: search cost (seconds, threads), the supernet's weights and activation memory per batch,
seconds per epoch, accuracy at each HM-NAS stage (the chapter's Table 2.3), the masks' kept shares.
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Callable

import numpy as np
import torch

from benchmarks.config import bench_profile, split_overrides
from benchmarks.fidelity import protocol
from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from nasgen.config import Profile, resolve_profile
from nasgen.device import resolve_device
from nasgen.generate.width import scaled, width_factor
from nasgen.hm_nas.config import SupernetConfig
from nasgen.nb201.data import accuracy_table
from nasgen.progress import ProgressLine
from nasgen.search.config import ConstraintConfig
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore, Ref, store_of

# quoted in the HM-NAS issue from NATS-Bench's table (CIFAR-10 test top-1 of the one-shot methods' derivations)
PUBLISHED_ONE_SHOT = {"RSPS": "91.05 ± 0.66", "DARTS": "54-65", "GDAS": "93.23 ± 0.58"}


def summary(ref: Ref) -> dict:
    return store_of(ref).read_json(ref, "summary.json")


def searched(st: ArtifactStore, prof: Profile, space: str, seed: int, device: str, root: str | None = None,
             ablation: bool = True) -> dict:  # fmt: skip
    """The derivations of one seed in one space (stages cached): the masks' and, with ``ablation``, the two
    heuristics' (which trains the single-level supernet too), with the stages' summaries."""
    data = prof.supernet.dataset.model_copy(update={"root": root})
    base = prof.supernet.model_copy(update={"space": space, "seed": seed, "dataset": data})
    multi = run_stage("supernet", st, device, cfg=base)
    masked = run_stage("hm_nas", st, device, supernet_ref=multi, cfg=prof.hm_nas)
    m, h = summary(multi), summary(masked)
    out = {
        "cfg": base,
        "multi": m,
        "hm_nas": h,
        "uris": [multi.uri, masked.uri],
        "derivations": {"masks (HM-NAS)": h["derived"]},
    }
    if not ablation:
        return out
    single = run_stage("supernet", st, device, cfg=base.model_copy(update={"encoding": "single"}))
    s = summary(single)
    out["derivations"].update(
        {"multi-level + DARTS heuristic": m["heuristic"], "single-level + DARTS heuristic": s["heuristic"]}
    )
    return {**out, "single": s, "uris": [*out["uris"], single.uri]}


def one_shot(st: ArtifactStore, prof: Profile, device: str) -> Callable[[int], tuple[int, dict]]:
    """NB-201's one-shot search for strategy ``hm_nas``: seed -> (the masks' architecture index, its report)."""

    def search(seed: int) -> tuple[int, dict]:
        out = searched(st, prof, "nb201", seed, device, ablation=False)
        h = out["hm_nas"]
        report = {"fmnist_supernet_val_top1": h["supernet"]["val_top1"], "fmnist_searched_val_top1":
                  h["searched"]["val_top1"], "fmnist_finetuned_val_top1": h["finetuned"]["val_top1"],
                  "search_seconds": sum(h["seconds"].values())}  # fmt: skip
        return h["derived"]["nb201_index"], report

    return search


def _nb201_row(d: dict, table) -> dict:
    r = table.loc[d["nb201_index"]]
    return {"arch": d["nb201"], "cifar10_valid_top1": float(r["valid_top1"]),
            "cifar10_test_top1": float(r["test_top1"]), "params_m": float(r["params_m"])}  # fmt: skip


def _graphnet_row(d: dict, cfg: SupernetConfig, constraint: ConstraintConfig, train) -> dict:
    cell = Cell.from_dict(d["cell"])
    macro = MacroArch.from_triples([(cell, c, s) for c, s in cfg.layers], (1, 28, 28), 10)
    cost = macro_cost(macro)
    factor = width_factor(macro, constraint)
    row = {"cell": cell.to_dict(), "ops": len(cell.ops), "params": cost.params, "flops": cost.flops,
           "width_factor": factor}  # fmt: skip
    if factor is None:
        return {**row, "error": f"not within {constraint.name} even at the narrowest width"}
    fitted = scaled(macro, factor)
    fc = macro_cost(fitted)
    return {**row, "fitted_params": fc.params, "fitted_flops": fc.flops, "arch_id": fitted.arch_id, **train(fitted)}


def _beside(pattern: str) -> dict:
    """`bench table1`'s best reduced-recipe pick per method, over the result files matching ``pattern``."""
    per: dict[str, list[float]] = {}
    files = sorted(glob.glob(pattern))
    for f in files:
        for budget in json.load(open(f))["budgets"].values():
            for method, s in budget["summary"].items():
                if s.get("best_reduced_val_top1"):
                    per.setdefault(method, []).append(s["best_reduced_val_top1"]["mean"])
    return {"files": files, "best_reduced_val_top1": {m: {"mean": float(np.mean(v)), "std": float(np.std(v)),
                                                          "n": len(v)} for m, v in per.items()}}  # fmt: skip


def run(profile: str = "demo", store: str | None = None, device: str = "cpu", threads: int = 2,
        root: str | None = None, plot: str | None = None, overrides: dict | None = None) -> dict:  # fmt: skip
    torch.set_num_threads(threads)
    device = resolve_device(device)
    lib, ours = split_overrides(overrides or {})
    prof = resolve_profile(profile, overrides=lib)
    bench = bench_profile(prof.name, overrides=ours)
    cfg = bench.one_shot
    max_params, max_flops = cfg.budgets[cfg.budget]
    constraint = ConstraintConfig(max_params=max_params, max_flops=max_flops)
    st, table = ArtifactStore(store), accuracy_table()
    data, recipe = protocol(bench.fidelity, root)["reduced"]

    def train(macro: MacroArch) -> dict:
        m = metrics(run_stage("trained", st, device, macro=macro, dataset=data, recipe=recipe))
        return {"reduced_val_top1": m["val_top1"], "reduced_test_top1": m["test_top1"], "train_seconds": m["seconds"]}

    t0 = time.perf_counter()
    bar = ProgressLine("bench hm-nas", len(cfg.spaces) * cfg.seeds)
    spaces: dict[str, list[dict]] = {}
    for space in cfg.spaces:
        for seed in range(cfg.seeds):
            out = searched(st, prof, space, seed, device, root)
            rows = {name: _nb201_row(d, table) if space == "nb201" else _graphnet_row(d, out["cfg"], constraint, train)
                    for name, d in out["derivations"].items()}  # fmt: skip
            m, h, s = out["multi"], out["hm_nas"], out["single"]
            spaces.setdefault(space, []).append({
                "seed": seed, "artifacts": out["uris"], "derivations": rows,
                "stages": {"supernet": h["supernet"], "searched": h["searched"], "finetuned": h["finetuned"],
                           "single_supernet": {k: s[k] for k in ("val_top1", "test_top1")}},
                "kept": {k: h[k] for k in ("ops_kept", "edges_kept", "weights_kept")},
                "supernet": {"weights": m["weights"], "batch_size": m["batch_size"],
                             "activation_mb_per_batch": m["activation_bytes_per_batch"] / 2**20,
                             "seconds_per_epoch": m["seconds_per_epoch"], "search_images": m["search_images"]},
                "search_seconds": {**h["seconds"], "single_supernet": s["seconds"]},
            })  # fmt: skip
            bar.advance()
    bar.finish()
    result = {"benchmark": "hm-nas", "machine": machine_info(), "torch_threads": torch.get_num_threads(),
              "device": device, "profile": prof.name, "config": cfg.model_dump(mode="json"),
              "supernet": prof.supernet.model_dump(mode="json"), "hm_nas": prof.hm_nas.model_dump(mode="json"),
              "reduced_recipe": {"dataset": data.model_dump(mode="json"), "recipe": recipe.model_dump(mode="json")},
              "budget": {"name": cfg.budget, "max_params": max_params, "max_flops": max_flops},
              "spaces": spaces, "summary": _summary(spaces), "beside": _beside(cfg.beside),
              "published_one_shot_cifar10_test": PUBLISHED_ONE_SHOT,
              "wall_seconds": time.perf_counter() - t0}  # fmt: skip
    if plot:
        with open(plot, "wb") as f:
            f.write(plot_png(result))
        result["plot"] = plot
    return result


def _stat(values: list[float]) -> dict | None:
    v = [x for x in values if x is not None]
    return {"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)} if v else None


def _summary(spaces: dict[str, list[dict]]) -> dict:
    """Mean ± std over seeds of each derivation's accuracy (CIFAR-10 lookup on NB-201, reduced-recipe
    Fashion-MNIST on GraphNet) and of the fine-tuned masked supernet."""
    out = {}
    for space, seeds in spaces.items():
        key = "cifar10_test_top1" if space == "nb201" else "reduced_val_top1"
        names = seeds[0]["derivations"]
        out[space] = {"metric": key,
                      **{n: _stat([s["derivations"][n].get(key) for s in seeds]) for n in names},
                      "finetuned masked supernet (Fashion-MNIST val)":
                          _stat([s["stages"]["finetuned"]["val_top1"] for s in seeds]),
                      "search_seconds": _stat([sum(s["search_seconds"].values()) for s in seeds])}  # fmt: skip
    return out


def plot_png(result: dict) -> bytes:
    """Per space, each derivation's accuracy per seed."""
    plt = pyplot()

    spaces = result["spaces"]
    fig, axes = plt.subplots(1, len(spaces), figsize=(6 * len(spaces), 4), squeeze=False)
    for ax, (space, seeds) in zip(axes[0], spaces.items()):
        key = result["summary"][space]["metric"]
        names = list(seeds[0]["derivations"])
        for i, n in enumerate(names):
            ys = [s["derivations"][n].get(key) for s in seeds]
            ax.scatter([i] * len(ys), [y for y in ys if y is not None], s=40)
        ax.set_xticks(range(len(names)), [n.replace(" + ", "\n+ ") for n in names], fontsize=8)
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(f"HM-NAS derivations on {space} ({len(seeds)} seed{'s' * (len(seeds) != 1)})")
    fig.tight_layout()
    return png(fig, dpi=110)
