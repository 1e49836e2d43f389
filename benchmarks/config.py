"""The benchmarks' profile sections (`bench nb201-search`, `rehearse`, `bench gpu`, `bench fidelity`, `bench
table1`, `bench curves`, `bench hm-nas`, `bench load`, `bench soak`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from nasgen.config import ProfileName, load_profile, settle
from nasgen.frozen import Frozen
from nasgen.nb201.config import NB201SearchConfig
from nasgen.zc.config import ALL_PROXIES, ProxyName

PROFILE_DIR = Path(__file__).parent / "profiles"


class RehearseConfig(Frozen):
    """The slice of data `nasgen rehearse` runs a profile's stages on (benchmarks/rehearse.py). Model sizes and
    numeric settings stay the profile's; only data sizes and loop lengths shrink, and the measured time per
    unit of work is extrapolated to the profile's full sizes."""

    cells: int = Field(2_000, ge=20)  # sampled (cells.n), all trained on by the G-VAE and the CCNF
    labelled: int = Field(64, ge=8)  # ZC-scored (zc.n_labelled)
    gvae_epochs: int = Field(25, ge=1)  # ~200 optimiser steps at batch 256 on 1,800 training cells
    ccnf_epochs: int = Field(5, ge=1)
    hl_evo_iterations: int = Field(20, ge=2)  # per constraint level
    sg_epochs: int = Field(1, ge=1)
    generate_n: int = Field(10, ge=1)
    memory_poll_s: float = Field(0.05, gt=0)  # how often the peak-RSS sampler reads /proc


class GPUBenchConfig(Frozen):
    """`nasgen bench gpu` (benchmarks/gpu.py): sized to fit ten minutes on one GPU at the paper profile."""

    zc_cells: int = Field(64, ge=1)  # timed cells per ZC worker process, after one warm-up cell
    workers: tuple[int, ...] = (1, 2, 4)  # ZC worker processes sharing the device
    train_steps: int = Field(50, ge=1)  # timed optimiser steps of the G-VAE, the CCNF and the SG (after warm-up)
    sg_positions: int = Field(20, ge=1)  # HL positions of the SG's training sequences (paper Section 4.3: <= 20)
    network_params: int = Field(1_000_000, ge=1_000)  # size of the trained network (a random macro below it)
    images: int = Field(5_120, ge=8)  # synthetic CIFAR-shaped training images per epoch
    image_epochs: int = Field(2, ge=2)  # the first one is the warm-up
    # alpha_x forward+backward at these batches: launch-bound when about equal (batch norm needs two samples)
    launch_batches: tuple[int, int] = (2, 64)
    launch_repeats: int = Field(10, ge=1)
    launch_bound_ratio: float = Field(2.0, gt=1)  # below it, the larger batch barely costs more: launch-bound
    seed: int = 0


REAL_TASK_BUDGETS: dict[str, tuple[int, int]] = {"b1": (100_000, 15_000_000), "b2": (500_000, 60_000_000)}


class FidelityConfig(Frozen):
    """`nasgen bench fidelity` (benchmarks/fidelity.py): how cheaply trained accuracy still ranks architectures on
    Fashion-MNIST. Per budget, ``networks`` random networks of the macro space (random search's draws) and the
    hand-designed references, each trained with the reduced recipe (a stratified ``subset`` of the training
    split, ``reduced_epochs``) at ``seeds`` seeds, and ``full_networks`` of them (references first) with the
    dataset's full recipe (all images, its epochs); a stratified ``val_fraction`` of the training split is held
    out (fixed split seed) for every decision, the test split only reported."""

    budgets: dict[str, tuple[int, int]] = REAL_TASK_BUDGETS  # name -> (params, MACs) at 1x28x28
    networks: int = Field(30, ge=2)
    references: tuple[str, ...] = ("two_conv", "resnet20", "mobilenetv2")  # nasgen.train.references
    seeds: int = Field(2, ge=2)
    subset: int = Field(10_000, ge=10)
    reduced_epochs: int = Field(2, ge=1)
    full_networks: int = Field(15, ge=0)  # the 3 references and 12 random networks
    full_epochs: int | None = Field(None, ge=1)  # None: the dataset recipe's
    # the full recipe's own seed spread: the first full_seed_networks full networks (references first) are also
    # trained fully at seeds 1 .. full_seeds - 1 (a full run costs 7-27 min here: few networks, few seeds)
    full_seeds: int = Field(1, ge=1)
    full_seed_networks: int = Field(0, ge=0)
    val_fraction: float = Field(1 / 6, gt=0, lt=1)  # 10,000 of Fashion-MNIST's 60,000
    max_draws: int = Field(1_000_000, ge=1)  # random macros drawn before the budget is said to be unreachable
    seed: int = 0
    # every network's ZC record, on a batch of the task's images (the profile's hl_evo.zc at 1x28x28): every
    # proxy and variant nasgen computes, each set beside trained accuracy
    proxies: tuple[ProxyName, ...] = ALL_PROXIES
    # a `bench table1` result (JSON file): the networks its searches picked join the study (after the
    # references, before the random networks, in full_networks' order): what the recipe must rank is their work
    picks: str | None = None
    max_picks: int | None = Field(None, ge=1)  # the cheapest this many of them (their reduced runs' seconds)


class Table1Config(Frozen):
    """`nasgen bench table1` (benchmarks/table1.py): paper Table 1's protocol on Fashion-MNIST at the real-task
    budgets. Per budget and seed, every strategy of the GraphNet space at 1x28x28 under params and MACs: HL-Evo
    (the profile's T and N) sets E, the ZC evaluations every other strategy gets; random search also at
    ``evaluations`` (the paper's 100); raw Evo(objective) with ``evo_iterations`` (a large E); SG + CCNF
    (``generate``) with ``evaluations`` sequences. Each method's ``top_k`` distinct networks by the objective
    are trained with the fidelity study's reduced recipe (its ``subset``, ``reduced_epochs``, validation split)
    and, with ``full``, the best of them by validation accuracy with the full recipe (``full_methods``: only
    those methods'), its test accuracy the method's score. SG + CCNF's SG is trained on HL-Evo histories at this
    input and these budgets."""

    budgets: dict[str, tuple[int, int]] = REAL_TASK_BUDGETS
    seeds: int = Field(3, ge=1)
    first_seed: int = Field(0, ge=0)  # seeds first_seed .. first_seed + seeds - 1: one seed more, another sitting
    evaluations: int = Field(100, ge=1)
    evo_iterations: int = Field(1_000, ge=2)
    top_k: int = Field(3, ge=1)
    full: bool = True
    full_methods: tuple[str, ...] | None = None  # with full: only these methods' picks (None: every method's)
    zc_data: Literal["noise", "fashion_mnist"] = "fashion_mnist"  # the ZC batch: the task's images or noise
    # The SG of ``sg_ccnf`` learns from HL-Evo histories at this input and these budgets: the pretrain's `hl_evo`
    # and `sg` stages rerun (cached) with one level per budget and this T (2 x 1,500: >= 2,000 networks)
    history_iterations: int = Field(1_500, ge=2)


class CurvesConfig(Frozen):
    """`nasgen bench curves` (benchmarks/curves.py): a curve table of Fashion-MNIST learning curves for the
    NAS-Bench-x11 surrogate and learning-curve extrapolation. The networks: the searches' and generators' picks
    of the ``picks`` `bench table1` results at ``budget``, interleaved with ``random_networks`` random networks
    of the budget (random search's draws); each trained once with the curve recipe (a stratified ``subset`` of
    the training split, ``epochs`` epochs at ``batch_size``, a fixed ``val_fraction`` validation split evaluated
    every epoch, the test split after the last), the first ``repeat_networks`` also at seeds 1 ..
    ``repeat_seeds`` - 1 (the noise model's test set). Training stops being started after ``time_budget_s``
    (a rerun resumes from the store's trained networks)."""

    budget: str = "b1"
    budgets: dict[str, tuple[int, int]] = REAL_TASK_BUDGETS
    picks: tuple[str, ...] = ("benchmarks/results/table1-*.json",)  # globs, relative to the working directory
    random_networks: int = Field(100, ge=0)
    subset: int = Field(1_000, ge=10)
    epochs: int = Field(15, ge=2)
    batch_size: int = Field(64, ge=1)
    val_fraction: float = Field(1 / 60, gt=0, lt=1)  # 1,000 of Fashion-MNIST's 60,000
    repeat_networks: int = Field(8, ge=0)
    repeat_seeds: int = Field(3, ge=2)
    time_budget_s: float | None = Field(None, gt=0)
    max_draws: int = Field(1_000_000, ge=1)
    seed: int = 0
    # each network's ZC record on a Fashion-MNIST batch: the surrogate's and LcSVR's inputs beside the encoding
    proxies: tuple[ProxyName, ...] = ("tcet", "meco_opt", "naswot", "synflow", "az_trainability")


class OneShotConfig(Frozen):
    """`nasgen bench hm-nas` (benchmarks/hm_nas.py): HM-NAS, the one-shot baseline, on Fashion-MNIST. Per space of
    ``spaces`` and seed (``seeds``), the profile's `supernet` trained with the multi-level encoding (then masked
    and fine-tuned: stage `hm_nas`) and with the single-level one; three derivations each (masks; DARTS's
    heuristic on the multi- and single-level supernets: the chapter's Table 2.5). NB-201's derived cells are
    looked up in the NB-201 table (CIFAR-10, trained elsewhere); GraphNet's become macro networks at the
    supernet's skeleton, narrowed to ``budget`` where they exceed it (nasgen.generate.width), and trained with
    the fidelity study's reduced recipe beside the `bench table1` results matching ``beside``."""

    spaces: tuple[Literal["nb201", "graphnet"], ...] = ("graphnet", "nb201")
    seeds: int = Field(2, ge=1)
    budget: str = "b1"
    budgets: dict[str, tuple[int, int]] = REAL_TASK_BUDGETS
    beside: str = "benchmarks/results/table1-b1-seed*-reduced-objective-meco-opt.json"  # a glob


class LoadConfig(Frozen):
    """`nasgen bench load` (benchmarks/load.py): ``requests`` generate requests submitted at once as deployment
    runs of a real Prefect server, served by ``workers`` process workers of the cpu pool (its concurrency limit
    ``pool_limit``); ``identical`` of them ask the same thing (seed 0), the rest one seed each. The generate runs
    use profile ``flow_profile``'s pretrain (built into the store first, cached)."""

    flow_profile: ProfileName = "tiny"
    requests: int = Field(20, ge=2)
    identical: int = Field(10, ge=2)
    workers: int = Field(2, ge=1)
    pool_limit: int = Field(4, ge=1)  # `nasgen deploy --cpu-limit`'s default
    max_params: int = Field(100_000, ge=1)  # B1's budget
    max_flops: int = Field(15_000_000, ge=1)
    timeout_s: float = Field(1_800.0, gt=0)
    poll_s: float = Field(2.0, gt=0)


class SoakConfig(Frozen):
    """`nasgen bench soak` (benchmarks/soak.py): one process worker serving the generate deployment on an
    interval schedule (every ``interval_s``; profile ``flow_profile``, pretrain cached) for ``minutes``; the
    resident memory of the worker, its flow-run processes and the server sampled every ``sample_s``."""

    flow_profile: ProfileName = "tiny"
    minutes: float = Field(30.0, gt=0)
    interval_s: int = Field(30, ge=10)
    sample_s: float = Field(10.0, gt=0)
    max_params: int = Field(100_000, ge=1)
    max_flops: int = Field(15_000_000, ge=1)


BENCH_SECTIONS = ("nb201_search", "rehearse", "bench_gpu", "fidelity", "table1", "curves", "one_shot", "load", "soak")


class BenchProfile(Frozen):
    """The benchmarks' sections of a profile (``benchmarks/profiles/<name>.yaml``): sizes of benchmarks, not of
    the library's stages, so they stay out of ``nasgen.config.Profile``."""

    name: ProfileName
    nb201_search: NB201SearchConfig = NB201SearchConfig()
    rehearse: RehearseConfig = RehearseConfig()
    bench_gpu: GPUBenchConfig = GPUBenchConfig()
    fidelity: FidelityConfig = FidelityConfig()
    table1: Table1Config = Table1Config()
    curves: CurvesConfig = CurvesConfig()
    one_shot: OneShotConfig = OneShotConfig()
    load: LoadConfig = LoadConfig()
    soak: SoakConfig = SoakConfig()


def bench_profile(name: str, config_file: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None) -> BenchProfile:  # fmt: skip
    """Profile ``name``'s benchmark sections, then a YAML file's and ``--set`` overrides of those sections."""
    return settle(load_profile(name, BenchProfile, PROFILE_DIR), config_file, overrides)


def split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the library profile's overrides, the benchmark sections' ones), by the section each path starts with."""
    bench = {k: v for k, v in overrides.items() if k.split(".")[0] in BENCH_SECTIONS}
    return {k: v for k, v in overrides.items() if k not in bench}, bench
