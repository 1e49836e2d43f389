"""The ageing-free evolutionary loop of paper Algorithm 1 (lines 23-37), shared by HL-Evo and raw-space Evo.

Each iteration draws a parent uniformly from the population, mutates it, discards a child that violates
the constraint (no ZC evaluation is spent on it), and otherwise, when the population is full, removes its
worst member before adding the child. Iterations split equally into phases (HL-Evo: exploration, then
exploitation); the mutation function is told the phase. Every accepted child is a row of the history H.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from nasgen.errors import ConfigError, NasgenError
from nasgen.search.config import ConstraintConfig
from nasgen.search.objective import ZCObjective, satisfies
from nasgen.space.cost import Cost, macro_cost
from nasgen.space.macro import CHANNELS, STRIDES, HLSequence, MacroArch


@dataclass(frozen=True)
class Candidate:
    macro: MacroArch
    seq: HLSequence | None = None  # the HL view (HL-Evo); None in the raw space
    mutation: str = "init"


@dataclass(frozen=True)
class Member:
    candidate: Candidate
    cost: Cost
    record: dict
    fitness: float


@dataclass
class SearchResult:
    history: list[dict] = field(default_factory=list)
    best: Member | None = None
    discarded_constraint: int = 0
    discarded_mutation: int = 0  # mutations without a child: GenCell decoded no valid cell, or none applied
    evaluations: int = 0


COST_COLUMNS = ("params", "flops")  # already columns, from the analytic cost
Mutate = Callable[[Candidate, np.random.Generator, str], Candidate]


def evolve(
    initial: Candidate,
    mutate: Mutate,
    phases: tuple[str, ...],
    iterations: int,
    population: int,
    constraint: ConstraintConfig,
    evaluator: ZCObjective,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None = None,
) -> SearchResult:
    res = SearchResult()
    start = evaluator.evaluations
    cost = macro_cost(initial.macro)
    if not satisfies(cost, constraint):
        raise ConfigError(
            f"the initial architecture ({cost.params} params, {cost.flops} FLOPs) violates the constraint "
            f"{constraint.name}: no search can start from it"
        )
    init = _member(initial, evaluator, cost)
    pop, res.best = [init], init
    res.history.append(history_row(init, 0, "init", constraint, evaluator, evaluator.evaluations - start, 0.0))
    per_phase = [iterations // len(phases) + (1 if i < iterations % len(phases) else 0) for i in range(len(phases))]
    it = 0
    for phase, n in zip(phases, per_phase):
        for _ in range(n):
            it += 1
            _tick(progress)
            t0 = time.perf_counter()
            parent = pop[int(rng.integers(len(pop)))]
            try:
                child = mutate(parent.candidate, rng, phase)
            except NasgenError:  # GenCell found no valid cell, or the mutation does not apply: the iteration is spent
                res.discarded_mutation += 1
                continue
            cost = macro_cost(child.macro)
            if not satisfies(cost, constraint):
                res.discarded_constraint += 1
                continue
            member = _member(child, evaluator, cost)
            if len(pop) >= population:
                pop.pop(min(range(len(pop)), key=lambda i: pop[i].fitness))
            pop.append(member)
            if member.fitness > res.best.fitness:  # line 37: the best over H, removed members included
                res.best = member
            spent, seconds = evaluator.evaluations - start, time.perf_counter() - t0
            res.history.append(history_row(member, it, phase, constraint, evaluator, spent, seconds))
    res.evaluations = evaluator.evaluations - start
    return res


def _member(c: Candidate, evaluator: ZCObjective, cost: Cost) -> Member:
    rec = evaluator.record(c.macro)
    return Member(c, cost, rec, evaluator.fitness(rec))


def change_width_or_stride(layer, kind: str, rng: np.random.Generator):
    """Algorithm 1's "change channels" (c ~ U{C}) or "change stride" (s ~ U{1, 2}) of a Layer or HLLayer."""
    if kind == "channels":
        return replace(layer, channels=int(CHANNELS[rng.integers(len(CHANNELS))]))
    return replace(layer, stride=int(STRIDES[rng.integers(len(STRIDES))]))


def history_row(m: Member, iteration: int, phase: str, constraint: ConstraintConfig, evaluator: ZCObjective,
         evaluations: int, seconds: float) -> dict:  # fmt: skip
    c = m.candidate
    row = {
        "iteration": iteration,
        "phase": phase,
        "mutation": c.mutation,
        "arch_id": c.macro.arch_id,
        "macro": c.macro.to_json(),
        "hl_sequence": None if c.seq is None else c.seq.to_json(),
        "cells": [x.cell.cell_id for x in c.macro.layers],
        "positions": len(c.macro.layers),
        "params": m.cost.params,
        "flops": m.cost.flops,
        "fitness": m.fitness,
        "status": m.record.get("status", "error"),
        "constraint": constraint.name,
        "evaluations": evaluations,
        "seconds": seconds,
    }
    for p in evaluator.cfg.proxies:  # the network's ZC vector: the SG's condition y
        if p not in COST_COLUMNS:
            row[p] = float(m.record.get(p, math.nan))
    return row


def _tick(progress: Callable[[int], None] | None) -> None:
    if progress is not None:
        progress(1)
