"""The generate-for-condition pipeline on loaded models (paper Eq. 8 plus the T-CET pick of Section 5).

1. The SG's condition y: params/FLOPs at ``budget_fraction`` of the budget and the request's ZC values (the
   paper's y); with ``aim_high`` (off by default) also the top bin of the objective.
2. ``n`` HL sequences, grammar-constrained. 3. GenCell per position: the CCNF + G-VAE decoder draw a cell of
   the position's cluster; all positions of one cluster are drawn in one batched solve. 4. alpha(alpha_hat),
   analytic cost, constraint check; a network over the budget narrowed until it fits (``over_budget``,
   nasgen.generate.width) or dropped, and a warning when few met it as proposed (``coverage``). 5. T-CET of
   every network that fits (cached by architecture id, so a network generated twice is scored once).
6. The top-k distinct networks by T-CET.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nasgen.ccnf.sampling import CellSampler
from nasgen.errors import NasgenError
from nasgen.generate.config import GenerateConfig
from nasgen.generate.request import GenerateRequest, one_op_networks
from nasgen.generate.width import scaled, width_factor
from nasgen.search.objective import ZCObjective, within
from nasgen.sg.sampling import generate as sample_sequences
from nasgen.sg.tokenizer import SGTokenizer
from nasgen.space.cost import macro_cost
from nasgen.space.macro import DEFAULT_INPUT, HLSequence, MacroArch


class NoFeasibleNetworkError(NasgenError):
    """No generated network meets the budget."""


@dataclass
class Candidate:
    index: int
    seq: HLSequence | None  # None: the SG's tokens did not parse
    macro: MacroArch | None = None
    params: int | None = None
    flops: int | None = None
    satisfies: bool = False
    width: float = 1.0  # the factor its channels were scaled by to meet the budget (1.0: as the SG proposed)
    latency_ms: float | None = None  # predicted on the request's latency device (with a latency model)
    measured_latency_ms: float | None = None  # measured there (chosen networks, with a latency budget)
    record: dict = field(default_factory=dict)  # ZC record (only for networks that satisfy the budget)
    fitness: float = -math.inf
    rank: int | None = None  # 1..top_k for the chosen networks
    error: str | None = None


@dataclass
class Generation:
    request: GenerateRequest
    condition: dict[str, float]
    candidates: list[Candidate]
    evaluations: int
    seconds: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    objective: str = "tcet"  # what ranked the candidates (GenerateConfig.objective)

    @property
    def chosen(self) -> list[Candidate]:
        return sorted((c for c in self.candidates if c.rank is not None), key=lambda c: c.rank)

    def counts(self) -> dict[str, int]:
        ok = [c for c in self.candidates if c.seq is not None]
        fit = [c for c in ok if c.satisfies]
        return {"generated": len(self.candidates), "valid_sequences": len(ok),
                "unique_sequences": len({c.seq.seq_id for c in ok}), "satisfying": len(fit),
                "unique_networks": len({c.macro.arch_id for c in fit}),
                "narrowed": sum(c.width < 1.0 for c in fit), "evaluations": self.evaluations,
                "chosen": len(self.chosen),
                **({"chosen_within_latency_measured": sum(c.measured_latency_ms <= self.request.max_latency_ms
                                                          for c in self.chosen)}
                   if self.request.max_latency_ms is not None and self.chosen
                   and self.chosen[0].measured_latency_ms is not None else {})}  # fmt: skip


def sg_condition(request: GenerateRequest, tokenizer: SGTokenizer, cfg: GenerateConfig) -> dict[str, float]:
    cond: dict[str, float] = {}
    budgets = (("params", request.max_params), ("flops", request.max_flops), ("latency_ms", request.max_latency_ms))
    for name, budget in budgets:
        if budget is not None and name in tokenizer.fields:
            cond[name] = cfg.budget_fraction * budget
    cond.update(request.zc)  # unknown fields fail in the tokenizer, naming the field
    if cfg.aim_high and cfg.aim_high in tokenizer.fields and cfg.aim_high not in cond:
        cond[cfg.aim_high] = tokenizer.bin_range(cfg.aim_high, tokenizer.bins(cfg.aim_high) - 1)[0]
    tokenizer.condition_ids(cond)  # validates every field and value
    return cond


def draw_cells(seqs: list[HLSequence], sampler: CellSampler, seed: int) -> list[list]:
    """One GenCell draw per position; every cluster's positions come from one batched CCNF solve."""
    need = Counter(x.cluster for s in seqs for x in s.layers)
    pools = {k: iter(sampler.gen_cell(k, m, seed=seed + k)) for k, m in sorted(need.items())}
    return [[next(pools[x.cluster]) for x in s.layers] for s in seqs]


def run(request: GenerateRequest, model, tokenizer: SGTokenizer, sampler: CellSampler, cfg: GenerateConfig,
        device: str = "cpu", progress: Callable[[int], None] | None = None,
        predict_latency: Callable[[MacroArch], float] | None = None,
        measure_latency: Callable[[MacroArch], float] | None = None) -> Generation:  # fmt: skip
    """``predict_latency``/``measure_latency``: the request's latency device's predictor and timing (needed for
    a latency budget: candidates are checked against the prediction, the chosen ones measured)."""
    n = request.n or cfg.n
    top_k = request.top_k or cfg.top_k
    seconds: dict[str, float] = {}
    if request.max_latency_ms is not None:
        check_latency_budget(request, predict_latency)
    t = time.perf_counter()
    cond = sg_condition(request, tokenizer, cfg)
    gen = sample_sequences(model, tokenizer, cond, n, cfg.decoding, cfg.temperature, request.seed,
                           request.input_shape, request.classes)  # fmt: skip
    seconds["sequences"] = time.perf_counter() - t
    cands = [Candidate(i, s, error=e) for i, (s, e) in enumerate(zip(gen.sequences, gen.errors))]
    t = time.perf_counter()
    ok = [c for c in cands if c.seq is not None]
    for c, cells in zip(ok, draw_cells([c.seq for c in ok], sampler, request.seed)):
        c.macro = c.seq.materialise(cells)
        _fit(c, request, cfg, predict_latency)
    seconds["cells"] = time.perf_counter() - t
    fit = [c for c in ok if c.satisfies]
    warnings = [w] if (w := coverage_warning(ok, request, tokenizer, cfg)) else []
    if not fit:
        smallest = min((c.params for c in ok), default=None)
        raise NoFeasibleNetworkError(
            f"none of the {n} generated networks meets {budget_name(request)} (smallest generated: {smallest} "
            "params); " + (warnings[0] if warnings else "the SG learnt sizes from its HL-Evo history")
        )
    t = time.perf_counter()
    evaluator = ZCObjective(request.scorer_config(cfg.zc), device, objective=cfg.objective)
    for c in fit:
        c.record = evaluator.record(c.macro)
        c.fitness = evaluator.fitness(c.record)
        if progress is not None:
            progress(1)
    seconds["scoring"] = time.perf_counter() - t
    _rank(fit, top_k)
    if request.max_latency_ms is not None and measure_latency is not None:
        t = time.perf_counter()
        for c in fit:
            if c.rank is not None:
                c.measured_latency_ms = measure_latency(c.macro)
        seconds["latency"] = time.perf_counter() - t
    return Generation(request, cond, cands, evaluator.evaluations, seconds, warnings, cfg.objective)


def budget_name(request: GenerateRequest) -> str:
    """The request's budget in words (ConstraintConfig's name), with the latency device when latency is bounded."""
    device = f" on {request.latency_device}" if request.max_latency_ms is not None else ""
    return request.constraint.name + device


def check_latency_budget(request: GenerateRequest, predict: Callable[[MacroArch], float] | None) -> None:
    """A latency budget needs the device's predictor, and must admit the cheapest network the space builds."""
    if predict is None:
        raise NasgenError(f"max_latency_ms needs the latency model of {request.latency_device} (stage latency_model:"
                          " `nasgen latency` builds it)")  # fmt: skip
    least = min(predict(m) for m in one_op_networks(request.input_shape, request.classes))
    if request.max_latency_ms < least:
        raise NoFeasibleNetworkError(
            f"impossible latency budget: {request.max_latency_ms} ms on {request.latency_device}, but the smallest "
            f"network for input {request.input_shape} and {request.classes} classes is predicted at {least:.3f} ms"
        )


def _fit(c: Candidate, request: GenerateRequest, cfg: GenerateConfig,
         predict_latency: Callable[[MacroArch], float] | None = None) -> None:  # fmt: skip
    """Cost and budget check of ``c``'s network (params, FLOPs and, with a latency budget, its predicted
    latency); over the budget, narrowed to fit when ``over_budget`` says so."""
    c.satisfies = within(c.macro, request.constraint, predict_latency)
    if not c.satisfies and cfg.over_budget == "narrow":
        f = width_factor(c.macro, request.constraint, predict_latency)
        if f is not None:
            c.seq, c.macro, c.width, c.satisfies = scaled(c.seq, f), scaled(c.macro, f), f, True
    cost = macro_cost(c.macro)
    c.params, c.flops = cost.params, cost.flops
    if predict_latency is not None:
        c.latency_ms = predict_latency(c.macro)


def coverage_warning(ok: list[Candidate], request: GenerateRequest, tokenizer: SGTokenizer,
                     cfg: GenerateConfig) -> str | None:  # fmt: skip
    """Why and what to do, when fewer than ``coverage`` of the valid sequences met the budget as proposed."""
    proposed = sum(c.satisfies and c.width == 1.0 for c in ok)
    if not ok or proposed >= cfg.coverage * len(ok):
        return None
    narrowed, fit = sum(c.width < 1.0 for c in ok if c.satisfies), sum(c.satisfies for c in ok)
    span = ""
    if "params" in tokenizer.fields and tokenizer.bins("params") > 2:
        low, high = tokenizer.bin_range("params", 0)[1], tokenizer.bin_range("params", tokenizer.bins("params") - 1)[0]
        span = f" (its history's params lie mostly in {low:,.0f}..{high:,.0f})"
    level = ", ".join(f"{k}: {v}" for k, v in request.constraint.model_dump(exclude_none=True).items())
    task = "" if request.input_shape == DEFAULT_INPUT else (
        f" with hl_evo.zc.in_channels={request.input_shape[0]}, hl_evo.zc.resolution={request.input_shape[1]}, "
        f"hl_evo.zc.classes={request.classes}"
    )  # fmt: skip
    if request.max_latency_ms is not None:  # histories searched under the latency bound, recording latency
        task += f"{' and' if task else ' with'} hl_evo.latency_device={request.latency_device}"
    head = (f"the cached SG does not cover {budget_name(request)}{span}: {proposed} of {len(ok)} valid sequences "
            f"met it as proposed, {narrowed} were narrowed to fit, {len(ok) - fit} could not be")  # fmt: skip
    return (
        f"{head}; `nasgen pretrain --set 'hl_evo.levels=[{{{level}}}]'`{task} trains an SG on histories at this budget"
    )


def _rank(fit: list[Candidate], top_k: int) -> None:
    seen: set[str] = set()
    for c in sorted(fit, key=lambda c: (-c.fitness, c.index)):
        if len(seen) == top_k or not np.isfinite(c.fitness):
            break
        if c.macro.arch_id not in seen:
            seen.add(c.macro.arch_id)
            c.rank = len(seen)
