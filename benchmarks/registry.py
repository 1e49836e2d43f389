"""The benchmarks, written once: each is its module's ``run`` function plus one entry here.

``nasgen bench <name>`` is generated from an entry the way stage commands are generated from the stage
registry: the options are ``run``'s keyword parameters (``max_params`` -> ``--max-params``; ``profile``,
``store``, ``device``, ``plot``, ``overrides`` (``--set``) and ``only`` (``--method``) are the shared ones),
their defaults its defaults, their help texts the entry's. A parameter of a type no command line can spell
(a dict, a config object) keeps its default. Every benchmark prints one JSON object.

Adding a benchmark: write ``run(...) -> dict`` in ``benchmarks/<module>.py`` and add one ``Benchmark`` below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Benchmark:
    name: str  # `nasgen bench <name>`
    target: str  # "module:function" returning the JSON object
    summary: str
    help: dict[str, str] = field(default_factory=dict)  # option help by parameter name

    def load(self) -> Callable[..., dict]:
        module, _, fn = self.target.partition(":")
        return getattr(importlib.import_module(module), fn)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("space", "benchmarks.space:run",
                  "Space benchmark: sampling 400k unique cells, cost-model throughput, size of the micro space.",
                  {"n": "Unique cells to sample.", "macros": "Random macros for the cost-model throughput.",
                   "space_samples": "Cells sampled to estimate the micro space's size."}),
        Benchmark("zc", "benchmarks.zc:run",
                  "ZC benchmark: per-proxy and total seconds per cell, overhead factor vs one forward+backward.",
                  {"cells": "Random cells per config (after one warm-up cell).",
                   "configs": "Profiles whose ZC config to measure (comma-separated).",
                   "standalone": "Also each proxy alone."}),
        Benchmark("nb201", "benchmarks.nb201:run",
                  "NB-201 benchmark: Spearman/Kendall of every proxy and variant with CIFAR-10 accuracy, beside the "
                  "published figures and NASLib's proxies; ZC choices measured; GMM families of z(x) with accuracy.",
                  {"n": "Architectures in the seeded sample.", "all_archs": "All 15,625 architectures (hours).",
                   "naslib": "Also NASLib's 491, compared.", "ablation_n": "Sub-sample for the ZC choices.",
                   "scores": "Every architecture's proxies (Parquet) to this file.",
                   "data": "The ZC batch: noise | digits | fashion_mnist | cifar10 (local files only).",
                   "proxies": "Only these proxies (comma-separated; default: all).",
                   "extras": "Also NASLib's 491, the GMM families and the ZC choices.",
                   "networks": "Score on these networks: alpha_x, nb201 (comma-separated).",
                   "z_with": "GMM families of z(x) plus each of these proxies on alpha_x (comma-separated)."}),
        Benchmark("nb201-search", "benchmarks.nb201_search:run",
                  "NB-201 search benchmark: random, REA, REINFORCE, GraphPNAS, arch2vec-RL/-BO, CATE-DNGO-LS on the "
                  "oracle; NASWOT/T-CET picks, Evo(T-CET) and the hierarchical method without it; test accuracy "
                  "beside the published tables (--set nb201_search.*)."),
        Benchmark("gvae", "benchmarks.gvae:run",
                  "G-VAE benchmark: reconstruction, validity, uniqueness, novelty, ZC preservation, R2; regularised "
                  "vs naive."),
        Benchmark("gvae-sweep", "benchmarks.gvae_sweep:run",
                  "G-VAE variants trained side by side on the same data; their metrics.",
                  {"variant": 'A variant, e.g. "beta_kl=0.02,epochs=120" (repeat).',
                   "jobs": "Variants trained in parallel processes."}),
        Benchmark("ccnf", "benchmarks.ccnf:run",
                  "CCNF benchmark (paper Table 8): random vs neighbourhood vs CCNF sampling around the NB-201 best "
                  "cell, then around --typical scored cells of the pipeline.",
                  {"n": "Latents drawn per sampling method.", "typical": "Scored cells also used as references.",
                   "per_ref": "Samples per typical reference."}),
        Benchmark("search", "benchmarks.search:run",
                  "Search benchmark: HL-Evo (CCNF or GraphPNAS GenCell) vs raw-space Evo vs random search vs "
                  "arch2vec-RL/-BO vs CATE-DNGO-LS, best objective vs ZC evaluations.",
                  {"objective": "tcet | zen | zico (default: the profile's)."}),
        Benchmark("generators", "benchmarks.generators:run",
                  "Cell generators: GraphPNAS vs CCNF GenCell and synonyms vs random cells, T-CET of alpha_x at equal "
                  "ZC evaluations; validity, uniqueness and families of 1,000 draws of each.",
                  {"evaluations": "ZC evaluations per run (default: the profile's graphpnas.evaluations)."}),
        Benchmark("generate", "benchmarks.generate:run",
                  "Generate benchmark: validity, budget satisfaction, latency, and SG+CCNF vs searches on the same "
                  "budget (--set generate.budget_fraction=0.7: another generate config, same pretrained models).",
                  {"n": "Sequences per generate request."}),
        Benchmark("evaluate", "benchmarks.evaluate:run",
                  "Evaluate benchmark: test top-1 of the top-k generated networks vs random and raw-Evo picks, "
                  "trained on a local dataset.",
                  {"n": "Sequences per generate request (sets the ZC budget).",
                   "top_k": "Networks trained per method and seed."}),
        Benchmark("gpu", "benchmarks.gpu:run",
                  "GPU benchmark (ten minutes at paper): ZC cells/s vs worker processes, G-VAE/CCNF/SG steps/s, "
                  "images/s of training a 1M-parameter network, launch overhead of alpha_x (--set bench_gpu.*)."),
        Benchmark("fidelity", "benchmarks.fidelity:run",
                  "Fidelity study on Fashion-MNIST: random and hand-designed networks of a budget trained with a "
                  "reduced recipe at several seeds and the full one; architecture vs seed spread, reduced vs full "
                  "rank agreement, cost per network (resumes from the store's trained networks).",
                  {"budget": "b1 (<= 100k params, 15M MACs) | b2 (<= 500k, 60M) (profile section fidelity).",
                   "threads": "Torch threads.", "root": "Fashion-MNIST's directory (default: Debian's)."}),
        Benchmark("table1", "benchmarks.table1:run",
                  "Paper Table 1's protocol on Fashion-MNIST: every search strategy and SG + CCNF at each real-task "
                  "budget, their top networks trained (reduced recipe, then the best with the full one); "
                  "resumes from the store's trained networks.",
                  {"budget": "b1 | b2 (default: both; profile section table1).", "threads": "Torch threads.",
                   "root": "Fashion-MNIST's directory (default: Debian's)."}),
        Benchmark("task-proxies", "benchmarks.task_proxies:run",
                  "Every zero-cost proxy and rank ensemble against trained Fashion-MNIST accuracy of the store's "
                  "real-task networks, per budget and recipe, beside params and FLOPs alone.",
                  {"threads": "Torch threads.", "root": "Fashion-MNIST's directory (default: Debian's).",
                   "near": "The near-budget subset: params at least this share of the budget."}),
        Benchmark("curves", "benchmarks.curves:run",
                  "Learning curves of the real-task networks (NAS-Bench-x11 on Fashion-MNIST): the curve table, the "
                  "SVD surrogate per mu-model and noise model, LCE (LcSVR, WPM) as predictor and as selection at "
                  "equal epochs, REA and local search on the surrogate single- vs multi-fidelity (resumes from the "
                  "store's trained networks; --set curves.time_budget_s=...).",
                  {"threads": "Torch threads.", "root": "Fashion-MNIST's directory (default: Debian's)."}),
        Benchmark("hm-nas", "benchmarks.hm_nas:run",
                  "HM-NAS, the one-shot baseline, on Fashion-MNIST: multi- and single-level supernets on NB-201 and "
                  "a GraphNet sub-space, hierarchical masks vs DARTS's heuristic (ch. 2 Table 2.5), accuracy at "
                  "each stage, NB-201 lookups, GraphNet derivations trained beside bench table1's picks "
                  "(--set supernet.*, hm_nas.*, one_shot.*).",
                  {"threads": "Torch threads.", "root": "Fashion-MNIST's directory (default: Debian's)."}),
        Benchmark("load", "benchmarks.load:run",
                  "Concurrent generate requests through a real Prefect server on 127.0.0.1 with process workers: "
                  "every run completes, each distinct request computed and committed once, p50/p95 latency "
                  "(--set load.*)."),
        Benchmark("soak", "benchmarks.soak:run",
                  "A worker serving scheduled generate runs for --set soak.minutes (default 30): resident memory of "
                  "the worker, its flow runs and the server over time, growth per hour (--set soak.*)."),
        Benchmark("latency", "benchmarks.latency:run",
                  "Latency predictor on this device: lookup table, table sum + learnt correction, accuracy (share "
                  "within +-10%, MAPE, Spearman) on held-out random networks and on real-task budget networks.",
                  {"per_budget": "Random networks measured per real-task budget (B1, B2)."}),
        Benchmark("latency-generate", "benchmarks.latency_generate:run",
                  "Generation for two latency budgets on this CPU against params-only generation at the params it "
                  "reaches: share within budget when measured, best objective, the top-1's reduced-recipe accuracy.",
                  {"budget": "b1 | b2 (the params/MACs every generation keeps).", "threads": "Torch threads.",
                   "root": "Fashion-MNIST's directory (default: Debian's).", "n": "Sequences per generation.",
                   "quantiles": "Of the unconstrained candidates' predicted latency: the latency budgets."}),
        Benchmark("arch2vec", "benchmarks.arch2vec:run",
                  "arch2vec pre-training beside the dissertation's Table 3.1 (NB-201) or on GraphNet cells.",
                  {"space": "nb201 | graphnet", "cells": "GraphNet cells (the demo's count).",
                   "without_kl": "Also the w/o-KL variant.", "threads": "Torch threads."}),
        Benchmark("cate", "benchmarks.cate:run",
                  "CATE's masked-op accuracy on NB-201 against what the pairs can tell, per pre-training variant.",
                  {"epochs": "Pre-training epochs (default: the profile's).", "threads": "Torch threads."}),
        Benchmark("encodings", "benchmarks.encodings:run_space",
                  "Encodings as predictors (one-hot, arch2vec, CATE, the G-VAE latent): nb201, graphnet, or "
                  "graphnet-pairing (CATE paired by params vs ZC vector).",
                  {"space": "nb201 | graphnet | graphnet-pairing", "threads": "Torch threads."}),
    )
}  # fmt: skip


def benchmark(name: str) -> Benchmark:
    from nasgen.errors import ConfigError

    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ConfigError(f"unknown benchmark {name!r}; benchmarks: {', '.join(BENCHMARKS)}") from None
