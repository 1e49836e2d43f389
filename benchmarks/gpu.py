"""`nasgen bench gpu`: the throughputs that decide the paper profile's cost on one device, sized by the
profile's ``bench_gpu`` section to fit ten minutes on one GPU (runs on the CPU too, at `tiny` in the tests).

- ZC cells/s at the profile's ZC config, with 1, 2, 4 worker processes sharing the device (the 400k-cell goal
  is one H100-hour: >= 111 cells/s);
- G-VAE, CCNF and SG optimiser steps/s at the profile's model sizes, through their real training loops;
- images/s of training a generated network of ~1M parameters on CIFAR-shaped synthetic data (bf16 autocast
  and channels-last on CUDA, as ``nasgen.train.loop`` does);
- launch overhead: alpha_x forward+backward time at two batch sizes (2 and 64); a ratio near 1 means the
  per-network time is Python/kernel-launch overhead, not arithmetic.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import time

import numpy as np
import torch

from benchmarks.config import GPUBenchConfig, bench_profile, split_overrides
from benchmarks.machine import machine_info
from benchmarks.rehearse import Ticks
from nasgen.ccnf.config import CCNFConfig
from nasgen.config import Profile, resolve_profile
from nasgen.device import resolve_device
from nasgen.gvae.config import GVAEConfig
from nasgen.progress import ProgressLine
from nasgen.space.config import SamplerConfig
from nasgen.train.config import TrainRecipe
from nasgen.zc.config import ZCConfig

CELLS_PER_HOUR_GOAL = 400_000 / 3600  # the paper profile's cells scored in one GPU-hour


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _codes(n: int, seed: int) -> list[int]:
    from nasgen.space.sampling import sample_codes

    return [int(c) for c in sample_codes(np.random.default_rng(seed), n, SamplerConfig())]


def _zc_worker(cfg_json: str, device: str, threads: int, codes: list[int], barrier, queue) -> None:
    """One worker process: warm up on the first cell, wait for the others, score the rest."""
    from nasgen.space.cell import Cell
    from nasgen.zc.scorer import Scorer

    torch.set_num_threads(threads)
    scorer = Scorer(ZCConfig.model_validate_json(cfg_json), device)
    scorer.score_cell(Cell.from_code(codes[0]))
    barrier.wait()
    t0 = time.time()
    for c in codes[1:]:
        scorer.score_cell(Cell.from_code(c))
    _sync(device)
    queue.put((len(codes) - 1, t0, time.time()))


def zc_scaling(cfg: ZCConfig, device: str, workers: tuple[int, ...], cells: int, seed: int) -> list[dict]:
    """Aggregate cells/s of ``w`` spawned worker processes on one device, each with cores // w torch threads."""
    ctx = mp.get_context("spawn")
    cores = os.cpu_count() or 1
    out = []
    for w in workers:
        threads = max(1, cores // w)
        barrier, queue = ctx.Barrier(w), ctx.Queue()
        codes = _codes(w * (cells + 1), seed + w)
        procs = [ctx.Process(target=_zc_worker, args=(cfg.model_dump_json(), device, threads,
                                                        codes[i * (cells + 1) : (i + 1) * (cells + 1)], barrier, queue))
                 for i in range(w)]  # fmt: skip
        for p in procs:
            p.start()
        got = [queue.get() for _ in procs]
        for p in procs:
            p.join()
            if p.exitcode:
                raise RuntimeError(f"a ZC worker exited with code {p.exitcode}")
        n = sum(g[0] for g in got)
        wall = max(g[2] for g in got) - min(g[1] for g in got)
        out.append({"workers": w, "threads_per_worker": threads, "cells": n, "wall_s": wall, "cells_per_s": n / wall})
        print(f"bench gpu: ZC, {w} worker(s): {n / wall:.2f} cells/s", flush=True)
    return out


def gvae_steps(cfg: GVAEConfig, steps: int, device: str, seed: int) -> dict:
    """G-VAE optimiser steps/s: two epochs of ``steps`` batches (the first warms up), every loss on."""
    from nasgen.gvae.model import ZC_DIM
    from nasgen.gvae.training import train
    from nasgen.space.cell import Cell

    rows = cfg.batch_size * steps
    cells = [Cell.from_code(c) for c in _codes(rows, seed)]
    labelled = np.arange(min(rows, 4 * cfg.labelled_batch_size))
    t_zc = np.random.default_rng(seed).normal(size=(len(labelled), ZC_DIM))
    clock = Ticks()
    train(cells, cfg.model_copy(update={"epochs": 2, "patience": 2, "val_fraction": 0.0}), labelled, t_zc, clock,
          device=device)  # fmt: skip
    return {"steps_per_s": steps / (clock.times[1] - clock.times[0]), "batch": cfg.batch_size}


def ccnf_steps(cfg: CCNFConfig, latent: int, steps: int, device: str, seed: int) -> dict:
    """CCNF optimiser steps/s (and NFE per solve) on random latents and conditions of the real shapes."""
    from nasgen.ccnf.training import train
    from nasgen.gvae.model import ZC_DIM

    rng = np.random.default_rng(seed)
    rows = cfg.batch_size * steps
    x, c = rng.normal(size=(rows, latent)).astype(np.float32), rng.normal(size=(rows, ZC_DIM)).astype(np.float32)
    clock = Ticks()
    _, hist, _ = train(x, c, cfg.model_copy(update={"epochs": 2, "patience": 2, "val_fraction": 0.0}), clock, device)
    return {"steps_per_s": steps / (clock.times[1] - clock.times[0]), "batch": cfg.batch_size,
            "nfe_forward_per_solve": hist.nfe_forward[-1], "nfe_backward_per_solve": hist.nfe_backward[-1]}  # fmt: skip


def sg_steps(prof: Profile, steps: int, positions: int, device: str, seed: int) -> dict:
    """SG optimiser steps/s: GPT-Neo of the profile's shape from scratch on HL sequences of ``positions``."""
    from nasgen.sg.model import build
    from nasgen.sg.tokenizer import SGTokenizer
    from nasgen.sg.training import collate
    from nasgen.space.macro import CHANNELS, HLLayer, HLSequence

    cfg, k = prof.sg, prof.clusters.k_max  # as many cluster tokens as the GMM may choose
    rng = np.random.default_rng(seed)
    tok = SGTokenizer.fit({f: rng.normal(size=100) for f in cfg.condition_fields}, cfg.bins, k)
    model = build(tok, cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def row() -> list[int]:
        seq = HLSequence(tuple(HLLayer(int(rng.integers(k)), int(CHANNELS[rng.integers(len(CHANNELS))]),
                                       2 if p in (6, 12) else 1) for p in range(positions)))  # fmt: skip
        return tok.encode(seq, {f: float(rng.normal()) for f in cfg.condition_fields})

    batches = [collate([row() for _ in range(cfg.batch_size)], device) for _ in range(steps + 1)]
    model.train()
    for i, b in enumerate(batches):
        if i == 1:
            _sync(device)
            t0 = time.perf_counter()
        loss = model(**b).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    seconds = time.perf_counter() - t0
    return {"steps_per_s": steps / seconds, "batch": cfg.batch_size, "tokens_per_row": len(batches[0]["input_ids"][0]),
            "parameters": sum(p.numel() for p in model.parameters())}  # fmt: skip


def network_for(params: int, seed: int):
    """A random macro of the space with between 80% and 100% of ``params`` parameters (CIFAR-shaped input)."""
    from nasgen.space.cost import macro_cost
    from nasgen.space.sampling import random_macro

    rng = np.random.default_rng(seed)
    for _ in range(100_000):
        m = random_macro(rng)
        if 0.8 * params <= macro_cost(m).params <= params:
            return m
    raise RuntimeError(f"no random macro with 80-100% of {params:,} params in 100,000 draws")


def image_throughput(params: int, images: int, epochs: int, device: str, seed: int) -> dict:
    """Training images/s of a ~``params`` network (the epoch after the warm-up one, its test pass included)."""
    from nasgen.space.cost import macro_cost
    from nasgen.train.datasets import load_dataset
    from nasgen.train.loop import train_network
    from nasgen.zc.scorer import seeded_network

    macro = network_for(params, seed)
    # a quarter of the synthetic samples is the test split
    ds = load_dataset("synthetic", synthetic_shape=(3, 32, 32), synthetic_classes=10,
                      synthetic_samples=int(round(images / 0.75)), seed=seed)  # fmt: skip
    recipe = TrainRecipe(epochs=epochs, warmup_epochs=0, seed=seed)
    rows = train_network(seeded_network(macro, seed), ds, recipe, device)
    n = len(ds.train)
    n -= n % recipe.batch_size if n > recipe.batch_size else 0  # the loop drops a short last batch
    return {"images_per_s": n / rows[-1]["seconds"], "params": macro_cost(macro).params, "images": n,
            "batch": recipe.batch_size, "positions": len(macro.layers),
            "bf16_channels_last": device.startswith("cuda") and recipe.amp and recipe.channels_last}  # fmt: skip


def launch_overhead(cfg: ZCConfig, b: GPUBenchConfig, device: str) -> dict:
    """alpha_x (17 cells) forward+backward seconds at two batch sizes; ratio ~ 1: launch-bound."""
    batches, repeats, seed = b.launch_batches, b.launch_repeats, b.seed
    from nasgen.space.cell import Cell
    from nasgen.space.macro import reference_macro
    from nasgen.zc.scorer import seeded_network

    net = seeded_network(reference_macro(Cell.from_code(_codes(1, seed)[0]), cfg.input_shape, cfg.classes), seed,
                         device)  # fmt: skip
    out = {}
    for size in batches:
        x = torch.randn(size, *cfg.input_shape, device=device)
        times = []
        for _ in range(repeats + 1):
            _sync(device)
            t0 = time.perf_counter()
            net.zero_grad(set_to_none=True)
            net(x).sum().backward()
            _sync(device)
            times.append(time.perf_counter() - t0)
        out[f"batch_{size}_s"] = float(np.median(times[1:]))
    lo, hi = batches
    out["ratio"] = out[f"batch_{hi}_s"] / out[f"batch_{lo}_s"]
    out["launch_bound"] = out["ratio"] < b.launch_bound_ratio  # e.g. 32x the work in under 2x the time
    return out


def _driver() -> str | None:
    try:
        q = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
        return subprocess.run(q, capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run(profile: str | Profile = "paper", device: str = "auto", overrides: dict | None = None) -> dict:
    lib, bench = split_overrides(overrides or {})
    prof = resolve_profile(profile, overrides=lib)
    b, device = bench_profile(prof.name, overrides=bench).bench_gpu, resolve_device(device)
    line = ProgressLine("bench gpu", 6, every=0.0)
    result: dict = {"profile": prof.name, "device": device, "machine": machine_info(), "driver": _driver(),
                    "torch_threads": torch.get_num_threads(), "config": b.model_dump(mode="json")}  # fmt: skip
    zc = zc_scaling(prof.zc.zc, device, b.workers, b.zc_cells, b.seed)
    best = max(zc, key=lambda r: r["cells_per_s"])
    result["zc"] = {"config": prof.zc.zc.model_dump(mode="json"), "scaling": zc,
                    "best_cells_per_s": best["cells_per_s"], "goal_cells_per_s": CELLS_PER_HOUR_GOAL,
                    "goal_met": best["cells_per_s"] >= CELLS_PER_HOUR_GOAL,
                    "hours_for_profile_cells": prof.cells.n / best["cells_per_s"] / 3600}  # fmt: skip
    line.advance()
    result["gvae"] = gvae_steps(prof.gvae, b.train_steps, device, b.seed)
    line.advance()
    result["ccnf"] = ccnf_steps(prof.ccnf, prof.gvae.latent, b.train_steps, device, b.seed)
    line.advance()
    result["sg"] = sg_steps(prof, b.train_steps, b.sg_positions, device, b.seed)
    line.advance()
    result["network_training"] = image_throughput(b.network_params, b.images, b.image_epochs, device, b.seed)
    line.advance()
    result["launch_overhead"] = launch_overhead(prof.zc.zc, b, device)
    line.advance()
    return result
