"""G-VAE sweep: the same pipeline data, several G-VAE settings trained side by side, their metrics as JSON.

What the demo settings were chosen from (README "G-VAE"). Each variant is the profile's GVAEConfig with some
fields overridden (``"beta_kl=0.02,epochs=120"``); variants train in parallel processes (``jobs``), each with
an equal share of the cores, on ``device``; every trained model is a cached `gvae` artifact of the store,
so a repeated sweep only reads metrics.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from benchmarks.machine import machine_info
from nasgen.config import get_profile, with_overrides
from nasgen.device import cores_per_job
from nasgen.errors import ConfigError
from nasgen.gvae.config import GVAEConfig
from nasgen.stages.pipeline import build
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore, Ref


def parse_variant(text: str, base: GVAEConfig) -> GVAEConfig:
    """``"field=value,field=value"`` -> the validated config (values parsed as the field's type)."""
    overrides: dict[str, object] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or name not in GVAEConfig.model_fields:
            raise ConfigError(f"bad G-VAE sweep item {item!r}: expected FIELD=VALUE with a GVAEConfig field")
        overrides[name] = None if value == "none" else value
    return with_overrides(base, "G-VAE sweep", **overrides)


def _train(store: str, refs: dict[str, Ref], cfg: GVAEConfig, device: str, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    t = time.perf_counter()
    ref = run_stage("gvae", ArtifactStore(store), device=device, cfg=cfg, **refs)
    return {"seconds": time.perf_counter() - t, "uri": ref.uri, **metrics(ref)}


def run(
    variant: list[str] | None = None,
    profile: str = "demo",
    store: str | None = None,
    device: str = "auto",
    jobs: int = 1,
) -> dict:
    variants = list(variant or [])
    prof = get_profile(profile)
    base = prof.gvae
    cfgs = [parse_variant(v, base) for v in variants] or [base]
    st = ArtifactStore(store)
    refs = build(st, prof, upto="clusters")
    upstream = {"cells_ref": refs["cells"], "zc_ref": refs["zc"], "clusters_ref": refs["clusters"]}
    jobs = max(1, min(jobs, len(cfgs)))
    threads = cores_per_job(jobs)
    args = [(st.root, upstream, c, device, threads) for c in cfgs]
    names = variants or ["(profile)"]
    results: list[dict | None] = [None] * len(args)
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_train, *a): i for i, a in enumerate(args)}
        for fut in as_completed(futures):  # each result as it lands: a long sweep cut short keeps its finished runs
            i = futures[fut]
            results[i] = fut.result()
            print(json.dumps({"variant": names[i], **results[i]}, default=float), file=sys.stderr, flush=True)
    return {
        "benchmark": "gvae_sweep",
        "profile": profile,
        "device": device,
        "jobs": jobs,
        "machine": machine_info(),
        "base": base.model_dump(mode="json"),
        "results": [{"variant": v, **r} for v, r in zip(names, results)],
    }
