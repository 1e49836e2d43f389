"""NB-201 search benchmark: search strategies under the seed papers' two protocols, beside their tables.

- *oracle*: ``queries`` NB201 validation-accuracy queries per run by every strategy of
  ``nasgen.search.strategies.STRATEGIES`` that NB-201 offers the needs of (random search, REA, REINFORCE,
  GraphPNAS; arch2vec-RL and arch2vec-BO on the frozen embeddings of stage `arch2vec`, CATE-DNGO-LS on stage
  `cate`'s, cached), reported as mean ± std over ``<strategy>_runs`` (else ``oracle_runs``) runs of the
  validation and test accuracy of the architecture each run returns. The
  dissertation's arch2vec runs had a 12,000 s budget of simulated training time; ours counts queries, the same
  150 as every oracle method here.
- *zero-cost*: no oracle query. Random sampling of N architectures with a pick by NASWOT or T-CET (NASWOT's own
  protocol; N from ``zc_budgets``) over the scored sample of stage ``nb201_proxies`` (so N cannot exceed it),
  and REA on the proxy (Evo(T-CET)) with ``evo_budget`` proxy evaluations, scored on demand; the hierarchical
  method (strategy ``hierarchy``; models from nasgen.stages.nb201_hierarchy): the pipeline pretrained on NB-201's
  cells (cached), CCNF samples at each
  configured condition until ``hierarchy.budget`` distinct NB-201 cells, the pick by ``hierarchy.proxy``.
- *one-shot*: HM-NAS (strategy ``hm_nas``): the profile's `supernet` trained on its dataset (Fashion-MNIST, not
  CIFAR-10), masked and fine-tuned (stages cached); its derived cell is the run's one query. The published
  one-shot rows searched on CIFAR-10 itself.

A method (``methods``) is a strategy under a protocol: its name, budget and a function that runs one seeded
search and returns the finished oracle. Our oracle is NB201's final validation accuracy; the published runs searched on
its 12-epoch validation accuracy, a noisier signal, so the oracle methods here have an easier task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from benchmarks.config import BenchProfile, bench_profile, split_overrides
from benchmarks.figure import png, pyplot
from benchmarks.hm_nas import one_shot
from benchmarks.machine import machine_info
from nasgen.ccnf.sampling import CellSampler, GenerationError
from nasgen.config import Profile, resolve_profile
from nasgen.device import resolve_device
from nasgen.errors import ConfigError
from nasgen.nb201.arch import sample_indices
from nasgen.nb201.cell import nb201_indices
from nasgen.nb201.config import NB201SearchConfig
from nasgen.nb201.data import OPTIMUM, PUBLISHED_SEARCH, accuracy_table
from nasgen.nb201.oracle import Oracle
from nasgen.nb201.scoring import ProxyValues
from nasgen.nb201.space import NB201Space
from nasgen.progress import ProgressLine
from nasgen.search.config import StrategyConfig
from nasgen.search.strategies import run as run_strategy
from nasgen.search.strategies import supported
from nasgen.search.strategy import CellDraws, OneShot, Strategy
from nasgen.stages import arch2vec as arch2vec_stage
from nasgen.stages import cate as cate_stage
from nasgen.stages import nb201_hierarchy as hierarchy
from nasgen.stages import nb201_proxies
from nasgen.stages.readers import metrics
from nasgen.stages.registry import run as run_stage
from nasgen.store import ArtifactStore
from nasgen.zc.config import ALL_PROXIES

EMBEDDING_STAGES = {"arch2vec": arch2vec_stage, "cate": cate_stage}


@dataclass
class Context:
    cfg: NB201SearchConfig
    valid: np.ndarray  # the oracle's answers, by architecture index
    proxies: ProxyValues
    pool: np.ndarray  # the scored sample the zero-cost random picks draw from
    sampler: CellSampler | None = None  # the hierarchical method's models (pretrained on NB-201 cells)
    conditions: dict[str, hierarchy.Condition] = field(default_factory=dict)
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # stage `arch2vec`/`cate` -> its table
    one_shot: OneShot | None = None  # HM-NAS's search (benchmarks.hm_nas.one_shot)
    strategies: StrategyConfig = StrategyConfig()  # the strategies' numbers (``NB201SearchConfig.strategies``)


@dataclass(frozen=True)
class Method:
    name: str
    protocol: str  # "oracle" | "zero-cost"
    budget: int
    runs: int
    search: Callable[[Context, int], Oracle]  # one seeded run -> the oracle it spent
    published: str | None = None  # its key in PUBLISHED_SEARCH's tables
    pooled: bool = False  # draws from the scored sample (its budget cannot exceed the sample)
    pretrained: bool = False  # needs the hierarchical method's models
    embedded: tuple[str, ...] = ()  # the stages of the frozen embeddings it searches (`arch2vec`, `cate`)
    supernet: bool = False  # a one-shot search (HM-NAS): trains supernets


def _oracle_method(strategy: Strategy, cfg: NB201SearchConfig) -> Method:
    """A strategy of STRATEGIES with NB201's validation accuracy as the oracle."""
    name = strategy.name
    tables = tuple(n.split(":", 1)[1] for n in strategy.needs if n.startswith("table:"))

    def search(ctx: Context, seed: int) -> Oracle:
        oracle = Oracle.from_table(ctx.valid, ctx.cfg.queries, name=f"{name} oracle")
        space = NB201Space(tables={t: ctx.embeddings[t] for t in tables})
        oracle.info = run_strategy(name, space, oracle, np.random.default_rng(seed), ctx.strategies)
        return oracle

    published = name if any(name in table for table in PUBLISHED_SEARCH.values()) else None  # CATE: no NB-201 row
    return Method(name, "oracle", cfg.queries, cfg.runs(name), search, published=published, embedded=tables)


def _proxy_oracle(ctx: Context, proxy: str, budget: int) -> Oracle:
    return Oracle(lambda i: ctx.proxies.value(i, proxy), budget, name=f"{proxy} (zero-cost)")


def _pick_method(proxy: str, n: int, cfg: NB201SearchConfig) -> Method:
    """Random search over the scored sample, the pick by a proxy (NASWOT's protocol)."""

    def search(ctx: Context, seed: int) -> Oracle:
        oracle = _proxy_oracle(ctx, proxy, n)
        run_strategy("random", NB201Space(pool=ctx.pool), oracle, np.random.default_rng(seed), ctx.strategies)
        return oracle

    published = f"naswot-{n}" if proxy == "naswot" else None
    name = f"random + {proxy} pick, N = {n}"
    return Method(name, "zero-cost", n, cfg.zc_runs, search, published=published, pooled=True)


def _evo_method(cfg: NB201SearchConfig) -> Method:
    """REA on the proxy, scored on demand."""

    def search(ctx: Context, seed: int) -> Oracle:
        oracle = _proxy_oracle(ctx, ctx.cfg.evo_proxy, ctx.cfg.evo_budget)
        run_strategy("rea", NB201Space(), oracle, np.random.default_rng(seed), ctx.strategies)
        return oracle

    return Method(f"Evo({cfg.evo_proxy})", "zero-cost", cfg.evo_budget, cfg.evo_runs, search)


def _hierarchy_method(condition: str, cfg: NB201SearchConfig) -> Method:
    """Strategy ``hierarchy``: CCNF samples at ``condition``, the distinct NB-201 cells among them each one ZC
    evaluation, the pick by ``hierarchy.proxy``."""
    h = cfg.hierarchy

    def search(ctx: Context, seed: int) -> Oracle:
        assert ctx.sampler is not None
        draws = CellDraws(ctx.sampler, ctx.conditions[condition].vector, nb201_indices, h.draw_batch, h.max_draws)
        oracle = _proxy_oracle(ctx, h.proxy, h.budget)
        space = NB201Space(cell_draws=draws)
        oracle.info = run_strategy("hierarchy", space, oracle, np.random.default_rng(seed), ctx.strategies)
        return oracle

    name = f"hierarchical: CCNF at {condition.replace('_', ' ')} + {h.proxy} pick"
    return Method(name, "zero-cost", h.budget, h.runs, search, pretrained=True)


def _one_shot_method(cfg: NB201SearchConfig) -> Method:
    """Strategy ``hm_nas``: a supernet trained on the profile's `supernet` dataset (not CIFAR-10), masked and
    fine-tuned; the derived architecture is the run's one oracle query."""

    def search(ctx: Context, seed: int) -> Oracle:
        oracle = Oracle.from_table(ctx.valid, 1, name="hm_nas oracle")
        space = NB201Space(one_shot=ctx.one_shot)
        oracle.info = run_strategy("hm_nas", space, oracle, np.random.default_rng(seed), ctx.strategies)
        return oracle

    return Method("hm_nas", "one-shot", 1, cfg.hm_nas_runs, search, supernet=True)


def methods(cfg: NB201SearchConfig) -> list[Method]:
    """The oracle protocol runs every strategy of STRATEGIES that NB-201 (with its encoders' tables) offers the
    needs of; the zero-cost protocol the picks, Evo on the proxy and the hierarchical method."""
    offered = NB201Space().capabilities() | {f"table:{t}" for t in EMBEDDING_STAGES}
    out = [_oracle_method(s, cfg) for s in supported(offered)]
    out += [_pick_method(p, n, cfg) for p in cfg.zc_proxies for n in cfg.zc_budgets]
    out += [_evo_method(cfg)] + [_hierarchy_method(c, cfg) for c in cfg.hierarchy.conditions]
    return out + ([_one_shot_method(cfg)] if cfg.hm_nas_runs else [])


def _summary(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max())}


def run_method(m: Method, ctx: Context, table: pd.DataFrame, progress: bool = True) -> dict:
    test = table["test_top1"].to_numpy()
    bar = ProgressLine(f"nb201-search {m.name}", m.runs, enabled=progress)
    picks, curves, spent, info, failed = [], [], [], [], []
    t0 = time.perf_counter()
    for r in range(m.runs):
        try:
            oracle = m.search(ctx, ctx.cfg.seed + r)
        except GenerationError as e:  # a generator that returned no architecture: the run failed, said so
            failed.append(str(e))
        else:
            picks.append(oracle.best()[0])
            curves.append(test[oracle.incumbents()])
            spent.append(oracle.queries)
            info.append(oracle.info)
        bar.advance()
    seconds = time.perf_counter() - t0
    head = {"protocol": m.protocol, "budget": m.budget, "runs": m.runs, "failed_runs": len(failed),
            **({"first_failure": failed[0]} if failed else {})}  # fmt: skip
    if not picks:
        return {**head, "seconds": seconds, "published": m.published}
    width = max(len(c) for c in curves)
    padded = np.array([np.pad(c, (0, width - len(c)), mode="edge") for c in curves])
    return {
        **head, "spent": _summary(spent),
        "valid_top1": _summary(ctx.valid[picks]), "test_top1": _summary(test[picks]),
        "distinct_picks": len(set(picks)), "optimum_found": float(np.mean(test[picks] >= OPTIMUM["test_top1"] - 1e-6)),
        "seconds": seconds, "seconds_per_run": seconds / m.runs,
        "curve_test_mean": padded.mean(axis=0).tolist(), "published": m.published,
        **({"per_run": {k: _summary([i[k] for i in info]) for k in info[0]}} if info[0] else {}),
    }  # fmt: skip


def run(profile: str | Profile = "demo", store: str | None = None, device: str = "cpu", plot: str | None = None,
        progress: bool = True, only: Sequence[str] | None = None, bench: BenchProfile | None = None,
        overrides: dict | None = None) -> dict:  # fmt: skip
    """Every method of ``methods`` (or those named in ``only``) at the ``nb201_search`` section of ``bench`` (the
    profile's benchmark sections when None). The
    zero-cost methods read the profile's `nb201_proxies` sample (alpha_x, every proxy; cached in ``store``, the
    artifact `bench nb201` also uses); it is computed only when one of them runs."""
    device = resolve_device(device)
    lib, ours = split_overrides(overrides or {})
    prof = resolve_profile(profile, overrides=lib)
    cfg = (bench or bench_profile(prof.name, overrides=ours)).nb201_search
    table = accuracy_table()
    every = methods(cfg)
    if only:
        unknown = sorted(set(only) - {m.name for m in every})
        if unknown:
            raise ConfigError(f"unknown nb201-search method(s) {unknown}; methods: {[m.name for m in every]}")
        every = [m for m in every if m.name in only]
    stage_cfg = prof.nb201_proxies.model_copy(
        update={"network": "alpha_x", "zc": prof.nb201_proxies.zc.model_copy(update={"proxies": ALL_PROXIES})}
    )
    pool = np.asarray(sample_indices(stage_cfg.n, stage_cfg.seed))
    zc_info = None
    stored = None
    if any(m.protocol == "zero-cost" for m in every):
        bar = ProgressLine("nb201-search pool", len(pool), enabled=progress)
        t0 = time.perf_counter()
        ref = run_stage("nb201_proxies", ArtifactStore(store), device, progress=bar.advance, cfg=stage_cfg)
        stored = nb201_proxies.scores(ref).drop(columns=["arch"])
        zc_info = {"pool_uri": ref.uri, "pool_seconds": time.perf_counter() - t0}
    searched = sorted({*cfg.zc_proxies, cfg.evo_proxy})
    values = ProxyValues("alpha_x", stage_cfg.zc, stored, device, proxies=searched)
    ctx = Context(cfg, table["valid_top1"].to_numpy(), values, pool, strategies=cfg.strategies(prof.latent_search))
    chosen = [m for m in every if not m.pooled or m.budget <= len(ctx.pool)]  # N above the pool cannot be drawn
    skipped = [m.name for m in every if m not in chosen]
    pretrained = _pretrained(ctx, prof, ArtifactStore(store), device) if any(m.pretrained for m in chosen) else None
    embedded = _embedded(ctx, prof, ArtifactStore(store), {t for m in chosen for t in m.embedded})
    if any(m.supernet for m in chosen):
        ctx.one_shot = one_shot(ArtifactStore(store), prof, device)
    results = {m.name: run_method(m, ctx, table, progress) for m in chosen}
    result = {
        "benchmark": "nb201-search", "machine": machine_info(), "torch_threads": torch.get_num_threads(),
        "profile": prof.name, "config": cfg.model_dump(mode="json"), "oracle": "NB201 final validation top-1",
        **({"zc": {"network": "alpha_x", **stage_cfg.zc.model_dump(mode="json", exclude={"proxies"}),
                   "pool": int(len(ctx.pool)), **zc_info, "scored_on_demand": ctx.proxies.computed}}
           if zc_info else {}),
        **({"hierarchy": pretrained} if pretrained else {}),
        **({**embedded, "latent_search": prof.latent_search.model_dump(mode="json")} if embedded else {}),
        "optimum": OPTIMUM, "methods": results, "skipped": skipped, "published": PUBLISHED_SEARCH,
    }  # fmt: skip
    if plot:
        with open(plot, "wb") as f:
            f.write(plot_png(result))
    return result


def _pretrained(ctx: Context, prof: Profile, store: ArtifactStore, device: str) -> dict:
    """Pretrain (or find) the hierarchical method's models on NB-201 cells, load them into ``ctx``, and say
    what they are: artifact URIs, seconds, G-VAE and CCNF metrics, the families with their test accuracy."""
    t0 = time.perf_counter()
    refs = hierarchy.pretrain(store, prof, ctx.cfg, device)
    seconds = time.perf_counter() - t0
    ctx.sampler, ctx.conditions = hierarchy.load(refs, ctx.cfg.hierarchy, device)
    return {"artifacts": {k: r.uri for k, r in refs.items()}, "pretrain_seconds": seconds,
            "conditions": {k: c.detail for k, c in ctx.conditions.items()},
            "families": hierarchy.family_accuracy(refs["zc"], refs["clusters"], ctx.cfg.hierarchy.proxy,
                                                  accuracy_table()["test_top1"]),
            **{s: metrics(refs[s]) for s in ("gvae", "ccnf")}}  # fmt: skip


def _embedded(ctx: Context, prof: Profile, store: ArtifactStore, stages: set[str]) -> dict:
    """Pre-train (or find) each embedding stage the chosen methods search, load its table into ``ctx``."""
    out = {}
    for stage in sorted(stages):
        ref = run_stage(stage, store, cfg=getattr(prof, stage))
        ctx.embeddings[stage] = EMBEDDING_STAGES[stage].embeddings(ref).numpy()
        m = metrics(ref)
        keys = ("reconstruction", "validity", "validity_reference") if stage == "arch2vec" else ("masked_accuracy",)
        out[stage] = {"artifact": ref.uri, "seconds": m["seconds"], **{k: m[k] for k in keys}}
    return out


def plot_png(result: dict) -> bytes:
    """Test top-1 of the incumbent against the budget spent, per method (mean over runs)."""
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    for ax, protocol, xlabel in ((axes[0], "oracle", "oracle queries"), (axes[1], "zero-cost", "ZC evaluations")):
        for name, r in result["methods"].items():
            if r["protocol"] != protocol or "curve_test_mean" not in r:
                continue
            y = np.asarray(r["curve_test_mean"])
            ax.plot(np.arange(1, len(y) + 1), y, label=f"{name} ({r['runs']} runs)")
        ax.axhline(result["optimum"]["test_top1"], color="k", ls=":", lw=1, label="optimum 94.37")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CIFAR-10 test top-1 of the incumbent (mean over runs)")
        ax.set_ylim(85, 94.6)
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title(f"NB-201, {protocol} protocol")
    fig.tight_layout()
    return png(fig, dpi=110)
