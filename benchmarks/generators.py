"""Cell generators benchmark (`nasgen bench generators`): GraphPNAS against the CCNF's GenCell and synonym
sampling and random cells, on GraphNet cells at equal ZC evaluations.

Every method scores alpha_x(cell) with the profile's `graphpnas` scorer (HL-Evo's) through the same
``AlphaXOracle`` (one evaluation per new cell; a cell whose alpha_x breaks ``max_params`` is refused before
any evaluation, as GraphPNAS refuses it) and draws in steps of ``samples_per_step`` cells:

- ``graphpnas``: the GraphPNAS search (nasgen.search.graphpnas), ``evaluations`` per run;
- ``ccnf_gencell``: GenCell draws (the CCNF conditioned on a GMM family's mean), the family drawn by the GMM's
  weights for each cell — the CCNF's prior over cells, no feedback;
- ``ccnf_synonyms``: the first step as ccnf_gencell, then each step draws synonyms of the best cell so far
  (the CCNF conditioned on that cell's ZC vector, as predicted by the G-VAE) — the CCNF with feedback;
- ``random``: the space sampler's random cells (the pipeline's ``cells`` distribution).

Each run gets as many evaluations as the GraphPNAS run of its seed spent. Reported per method: best and top-10
mean objective (mean ± std over seeds), evaluations, refusals, and for ``diversity_samples`` draws of what
each method ends with (the trained generator; GenCell; synonyms of the final best cell; the sampler):
validity, distinct cells, uniqueness, share within the budget and distinct GMM families (the family of a cell:
the GMM's cluster of its G-VAE-predicted ZC vector).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch

from benchmarks.figure import png, pyplot
from benchmarks.machine import machine_info
from nasgen.ccnf.sampling import CellSampler
from nasgen.config import get_profile
from nasgen.graphpnas.cells import sample_cells
from nasgen.graphpnas.config import GraphPNASCellsConfig
from nasgen.progress import ProgressLine
from nasgen.search import graphpnas as gp
from nasgen.search.evolution import SearchResult
from nasgen.search.graphnet import GraphNetSpace, MacroObjective
from nasgen.search.objective import ZCObjective
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import sample_codes
from nasgen.stages import ccnf
from nasgen.stages.pipeline import build
from nasgen.store import ArtifactStore

METHODS = ("graphpnas", "ccnf_gencell", "ccnf_synonyms", "random")
Draw = Callable[[int, "Run"], list[Cell | None]]  # (n, run state) -> n draws, None where invalid


class Run:
    """One method's run at a fixed evaluation budget: draws in steps, refuses over-budget and seen cells."""

    def __init__(self, cfg: GraphPNASCellsConfig, budget: int, method: str) -> None:
        self.cfg = cfg
        self.space = GraphNetSpace(cfg.zc.input_shape, cfg.zc.classes)
        self.oracle = MacroObjective(ZCObjective(cfg.zc, objective=cfg.objective), gp.constraint_of(cfg), budget,
                                     method)  # fmt: skip
        self.seen: set[int] = set()
        self.draws = self.invalid = self.refused = self.duplicates = 0
        self.best: tuple[float, Cell] | None = None

    def step(self, cells: list[Cell | None]) -> None:
        for c in cells:
            self.draws += 1
            if c is None:
                self.invalid += 1
            elif c.code in self.seen:
                self.duplicates += 1
            elif not gp.within_budget(c, self.cfg):
                self.seen.add(c.code)
                self.refused += 1
            elif self.oracle.left > 0:
                self.seen.add(c.code)
                v = self.oracle.query(self.space.alpha_x(c))
                if math.isfinite(v) and (self.best is None or v > self.best[0]):
                    self.best = (v, c)

    def done(self) -> bool:
        """The budget is spent, or ``max_refused`` draws were wasted (invalid, seen or over the budget)."""
        return self.oracle.left <= 0 or self.invalid + self.duplicates + self.refused >= self.cfg.max_refused


def run_draws(draw: Draw, cfg: GraphPNASCellsConfig, budget: int, method: str) -> Run:
    r = Run(cfg, budget, method)
    while not r.done():
        r.step(draw(cfg.graphpnas.samples_per_step, r))
    return r


def ccnf_draws(sampler: CellSampler, seed: int) -> tuple[Draw, Draw]:
    """GenCell (family by the GMM weights) and synonyms-of-the-best (GenCell until a cell is scored)."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    weights = np.asarray(sampler.clusters.weights, dtype=float)

    def gencell(n: int, _run: Run | None = None) -> list[Cell | None]:
        ks = rng.choice(len(weights), size=n, p=weights / weights.sum())
        cond = torch.stack([sampler.cluster_condition(int(k)) for k in ks])
        return [d.cell for d in sampler.draw(cond, gen)]

    def synonyms(n: int, run: Run | None = None) -> list[Cell | None]:
        if run is None or run.best is None:
            return gencell(n)
        return synonyms_of(sampler, run.best[1], n, gen)

    return gencell, synonyms


def synonyms_of(sampler: CellSampler, cell: Cell, n: int, gen: torch.Generator) -> list[Cell | None]:
    cond = sampler.condition_of([cell])[0]
    return [d.cell for d in sampler.draw(cond.expand(n, -1), gen)]


def random_draws(seed: int) -> Draw:
    rng = np.random.default_rng(seed)

    def draw(n: int, _run: Run | None = None) -> list[Cell | None]:
        return [Cell.from_code(int(c)) for c in sample_codes(rng, n, SamplerConfig())]

    return draw


def final_draws(method: str, run: Run, sampler: CellSampler, n: int, seed: int) -> list[Cell | None]:
    """``n`` draws of what a method ends with: GenCell; synonyms of its best cell; the sampler (new seed)."""
    if method == "ccnf_gencell":
        return ccnf_draws(sampler, seed + 10_000)[0](n)
    if method == "ccnf_synonyms":
        return synonyms_of(sampler, run.best[1], n, torch.Generator().manual_seed(seed + 10_000))
    return random_draws(seed + 10_000)(n)


def summary(result: SearchResult) -> dict:
    fits = [r["fitness"] for r in result.history]
    return {"best": max(fits) if fits else math.nan, "top10_mean": gp.top_mean(result, 10),
            "evaluations": result.evaluations}  # fmt: skip


def run(profile: str = "demo", store: str | None = None, seeds: int = 3, evaluations: int | None = None,
        plot: str | None = None) -> dict:  # fmt: skip
    prof = get_profile(profile)
    cfg = prof.graphpnas if evaluations is None else prof.graphpnas.model_copy(update={"evaluations": evaluations})
    st = ArtifactStore(store)
    refs = build(st, prof, upto="ccnf")
    sampler = ccnf.load_sampler(st, refs["ccnf"])

    def family_of(cells: list[Cell]) -> np.ndarray:
        return sampler.clusters.predict(sampler.condition_of(cells).cpu().numpy())

    per: dict[str, list[dict]] = {m: [] for m in METHODS}
    histories: dict[str, list[SearchResult]] = {m: [] for m in METHODS}
    seconds = {m: 0.0 for m in METHODS}
    n = cfg.diversity_samples
    bar = ProgressLine(f"bench generators ({', '.join(METHODS)})", seeds * len(METHODS))
    for seed in range(seeds):
        t = time.perf_counter()
        g = gp.search_cells(cfg, ZCObjective(cfg.zc, objective=cfg.objective), seed=seed)
        seconds["graphpnas"] += time.perf_counter() - t
        budget = g.result.evaluations
        draws = sample_cells(g.model, n, seed)
        per["graphpnas"].append({**summary(g.result), "refused": g.refused,
                                 "samples": gp.sample_stats(draws, cfg, family_of)})  # fmt: skip
        histories["graphpnas"].append(g.result)
        bar.advance()
        gencell, synonyms = ccnf_draws(sampler, seed)
        for m, draw in (("ccnf_gencell", gencell), ("ccnf_synonyms", synonyms), ("random", random_draws(seed))):
            t = time.perf_counter()
            r = run_draws(draw, cfg, budget, m)
            seconds[m] += time.perf_counter() - t
            samples = gp.sample_stats(final_draws(m, r, sampler, n, seed), cfg, family_of)
            waste = {"refused": r.refused, "draws": r.draws, "invalid_draws": r.invalid, "duplicates": r.duplicates}
            per[m].append({**summary(r.oracle.result), **waste, "samples": samples})
            histories[m].append(r.oracle.result)
            bar.advance()
    methods = {}
    for m, rows in per.items():
        best = np.array([x["best"] for x in rows])
        top = np.array([x["top10_mean"] for x in rows])
        methods[m] = {"best_mean": float(best.mean()), "best_std": float(best.std()),
                      "top10_mean": float(top.mean()), "top10_std": float(top.std()),
                      "samples_mean": {k: float(np.mean([x["samples"].get(k, 0) for x in rows]))
                                       for k in ("validity", "distinct_cells", "uniqueness", "within_budget",
                                                 "families")},
                      "per_seed": rows, "seconds": seconds[m]}  # fmt: skip
    result = {
        "benchmark": "generators",
        "profile": profile,
        "machine": machine_info(),
        "torch_threads": torch.get_num_threads(),
        "config": cfg.model_dump(mode="json"),
        "seeds": seeds,
        "families": sampler.clusters.k,
        "ccnf_uri": refs["ccnf"].uri,
        "methods": methods,
    }
    if plot:
        with open(plot, "wb") as f:
            f.write(curves_png(histories, cfg))
        result["plot"] = plot
    return result


def curves_png(histories: dict[str, list[SearchResult]], cfg: GraphPNASCellsConfig) -> bytes:
    """Best objective so far against ZC evaluations, mean over seeds, one line per method."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 4))
    for m, rs in histories.items():
        length = min(len(r.history) for r in rs)
        if not length:
            continue
        curve = np.mean([np.maximum.accumulate([h["fitness"] for h in r.history[:length]]) for r in rs], axis=0)
        ax.plot(np.arange(1, length + 1), curve, label=m)
    ax.set(xlabel="ZC evaluations", ylabel=f"best {cfg.objective} of alpha_x (mean over seeds)",
           title=f"cell generators, params <= {cfg.max_params}")  # fmt: skip
    ax.legend()
    return png(fig, dpi=100, tight=True)
