"""The ageing-free evolutionary loop of paper Algorithm 1 (lines 23-37), shared by HL-Evo and raw-space Evo.

Each iteration draws a parent uniformly from the population, mutates it, discards a child that violates
the constraint (no ZC evaluation is spent on it), and otherwise, when the population is full, removes its
worst member before adding the child. Iterations split equally into phases (HL-Evo: exploration, then
exploitation); the mutation function is told the phase. Every accepted child is a row of the history H.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from nasgen.errors import ConfigError, MutationNotApplicable, NasgenError
from nasgen.search.config import ConstraintConfig
from nasgen.search.objective import ZCObjective
from nasgen.space.cost import Cost, macro_cost
from nasgen.space.macro import CHANNELS, MAX_LAYERS, STRIDES, HLSequence, Layer, MacroArch
from nasgen.space.mutations import mutate as mutate_cell

if TYPE_CHECKING:
    from nasgen.search.graphnet import MacroObjective


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


RAW_MUTATIONS = ("channels", "stride", "cell")
RAW_DEPTH = ("insert_position", "delete_position")
COST_COLUMNS = ("params", "flops")  # already columns, from the analytic cost
Mutate = Callable[[Candidate, np.random.Generator, str], Candidate]


def evolve(
    initial: Candidate,
    mutate: Mutate,
    phases: tuple[str, ...],
    iterations: int,
    population: int,
    objective: MacroObjective,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None = None,
) -> SearchResult:
    """Algorithm 1's loop from ``initial``; the objective keeps the history (and stops the loop early if it
    has an evaluation budget)."""
    if not objective.admits(initial):
        cost = macro_cost(initial.macro)
        raise ConfigError(
            f"the initial architecture ({cost.params} params, {cost.flops} FLOPs) violates the constraint "
            f"{objective.constraint.name}: no search can start from it"
        )
    res = objective.result
    pop = [(initial, objective.query(initial, 0, "init"))]
    per_phase = [iterations // len(phases) + (1 if i < iterations % len(phases) else 0) for i in range(len(phases))]
    it = 0
    for phase, n in zip(phases, per_phase):
        for _ in range(n):
            if objective.left <= 0:
                return res
            it += 1
            _tick(progress)
            parent = pop[int(rng.integers(len(pop)))][0]
            try:
                child = mutate(parent, rng, phase)
            except NasgenError:  # GenCell found no valid cell, or the mutation does not apply: the iteration is spent
                res.discarded_mutation += 1
                continue
            if not objective.admits(child):
                continue
            fitness = objective.query(child, it, phase)
            if len(pop) >= population:
                pop.pop(min(range(len(pop)), key=lambda i: pop[i][1]))
            pop.append((child, fitness))  # the best over H (line 37), removed members included, is the objective's
    return res


def change_width_or_stride(layer, kind: str, rng: np.random.Generator):
    """Algorithm 1's "change channels" (c ~ U{C}) or "change stride" (s ~ U{1, 2}) of a Layer or HLLayer."""
    if kind == "channels":
        return replace(layer, channels=int(CHANNELS[rng.integers(len(CHANNELS))]))
    return replace(layer, stride=int(STRIDES[rng.integers(len(STRIDES))]))


def mutate_raw(cand: Candidate, rng: np.random.Generator, depth: bool = False) -> Candidate:
    """Raw-space Evo's mutation (ZenNAS-style): a random position's channels or stride or its concrete cell
    (one structural edit: an edge or node added or removed, an op's type or kernel changed), and with ``depth``
    a position inserted (a stride-1 copy) or deleted."""
    layers = list(cand.macro.layers)
    kinds = RAW_MUTATIONS + (RAW_DEPTH if depth else ())
    kind = kinds[int(rng.integers(len(kinds)))]
    i = int(rng.integers(len(layers)))
    x = layers[i]
    if kind in ("channels", "stride"):
        layers[i] = change_width_or_stride(x, kind, rng)
    elif kind == "cell":
        layers[i] = replace(x, cell=mutate_cell(x.cell, rng)[0])
    elif kind == "insert_position":
        if len(layers) >= MAX_LAYERS:
            raise MutationNotApplicable(f"a network has at most {MAX_LAYERS} positions")
        layers.insert(i + 1, Layer(x.cell, x.channels, 1))
    else:
        if len(layers) == 1:
            raise MutationNotApplicable("cannot delete the only position")
        del layers[i]
    return Candidate(MacroArch(tuple(layers), cand.macro.input_shape, cand.macro.classes), None, kind)


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
