"""The pretrain DAG, declared once: which stage feeds which and which profile section configures it.

``walk`` visits the steps in order with an executor; the pretrain flow (each step a Prefect sub-flow), the
local run the benchmarks and tests use (``build``) and generate's lookup of the cached models (``lookup``)
are three executors of this one declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nasgen.config import Profile
from nasgen.errors import ArtifactMissingError
from nasgen.space.config import SampleCellsConfig
from nasgen.stages import cells, zc
from nasgen.stages.registry import Stage, run, stage
from nasgen.store import ArtifactStore, Ref, store_of
from nasgen.zc.config import ScoreCellsConfig

Refs = dict[str, "Ref | list[Ref]"]


@dataclass(frozen=True)
class Step:
    name: str  # a registry stage
    inputs: dict[str, str] = field(default_factory=dict)  # compute argument -> the earlier step providing it
    per_level: bool = False  # one artifact per constraint level of the config (HL-Evo's fan-out)
    when: Callable[[Profile], bool] | None = None  # a step only some profiles take
    args: Callable[[Profile], dict] | None = None  # inputs that are no artifact, from the profile (e.g. the input)

    def applies(self, prof: Profile) -> bool:
        return self.when is None or self.when(prof)

    @property
    def stage(self) -> Stage:
        return stage(self.name)


def _latency(prof: Profile) -> bool:
    return prof.hl_evo.latency_device is not None


PRETRAIN: tuple[Step, ...] = (
    Step("cells"),
    Step("zc", {"cells_ref": "cells"}),
    Step("clusters", {"zc_ref": "zc"}),
    Step("gvae", {"cells_ref": "cells", "zc_ref": "zc", "clusters_ref": "clusters"}),
    Step("ccnf", {"gvae_ref": "gvae"}),
    Step("graphpnas", when=lambda p: p.hl_evo.cell_source == "graphpnas"),  # HL-Evo's GenCell from GraphPNAS
    # the latency model of hl_evo.latency_device at the search's input: its histories record predicted latency
    Step(
        "latency_table",
        when=_latency,
        args=lambda p: {
            "input_shape": p.hl_evo.zc.input_shape,
            "classes": p.hl_evo.zc.classes,
            "latency_device": p.hl_evo.latency_device,
        },
    ),  # fmt: skip
    Step(
        "latency_model",
        {"table_ref": "latency_table"},
        when=_latency,
        args=lambda p: {"latency_device": p.hl_evo.latency_device},
    ),  # fmt: skip
    Step("hl_evo", {"ccnf_ref": "ccnf", "graphpnas_ref": "graphpnas", "latency_ref": "latency_model"}, per_level=True),
    Step("sg", {"hl_evo_refs": "hl_evo"}),
)
STEPS = {s.name: s for s in PRETRAIN}

# (step, its config, its upstream refs) -> its ref, or one ref per level
Executor = Callable[[Step, object, dict], "Ref | list[Ref]"]


def walk(prof: Profile, execute: Executor, upto: str | None = None) -> Refs:
    """Every pretrain step in order (through ``upto``), each given its config and its upstream refs."""
    if upto is not None and upto not in STEPS:
        raise ValueError(f"unknown pretrain step {upto!r}; steps: {', '.join(STEPS)}")
    refs: Refs = {}
    for step in PRETRAIN:
        if not step.applies(prof):
            continue
        inputs = {arg: refs[src] for arg, src in step.inputs.items() if src in refs}  # a skipped step: absent
        inputs |= step.args(prof) if step.args is not None else {}
        refs[step.name] = execute(step, getattr(prof, step.stage.section), inputs)
        if step.name == upto:
            break
    return refs


def build(store: ArtifactStore, prof: Profile, device: str = "cpu", upto: str | None = None) -> Refs:
    """Run (or find stored) every pretrain step in this process: the benchmarks' and tests' pipeline."""
    return walk(prof, local_executor(store, device), upto)


def local_executor(store: ArtifactStore, device: str = "cpu", progress=None) -> Executor:
    """Each step run in this process, in order; ``progress`` (the step's name) -> a progress callback for
    the stages that take one (None: their own stderr lines), e.g. the rehearsal's timing of epochs."""

    def execute(step: Step, cfg, inputs: dict):
        if step.name == "cells":
            return run_cells(store, cfg)
        if step.name == "zc":
            return run_zc(store, inputs["cells_ref"], cfg, device)
        tick = None if progress is None else progress(step.name)
        if step.per_level:
            return [run(step.name, store, device, tick, cfg=cfg, level=lv, **inputs) for lv in cfg.levels]
        return run(step.name, store, device, tick, cfg=cfg, **inputs)

    return execute


def lookup(store: ArtifactStore, prof: Profile, upto: str | None = None) -> Refs:
    """The stored pretrain artifacts of ``prof``, found by key without running anything; a missing one is an
    error that names the stage and the command that builds it."""

    def need(step: Step, **inputs) -> Ref:
        ref = step.stage.stored(store, **inputs)
        if ref is None:
            raise ArtifactMissingError(f"no pretrained {step.name!r} artifact of profile {prof.name!r} in "
                                       f"{store.root} (key {step.stage.key(**inputs)}); run `nasgen pretrain "
                                       f"--profile {prof.name}` (or `nasgen {step.stage.command}`) first")  # fmt: skip
        return ref

    def execute(step: Step, cfg, inputs: dict):
        if step.per_level:
            return [need(step, cfg=cfg, level=lv, **inputs) for lv in cfg.levels]
        return need(step, cfg=cfg, **inputs)

    return walk(prof, execute, upto)


def keys(prof: Profile) -> dict[str, str | list[str]]:
    """The store key of every pretrain step of ``prof`` (one per level for HL-Evo), computed from the configs
    alone: nothing is read or run. What must not change when configs move (tests/test_profile_keys.py)."""

    def execute(step: Step, cfg, inputs: dict):
        def ref(**more) -> Ref:
            k = step.stage.key(cfg=cfg, **inputs, **more)
            return Ref(stage=step.name, key=k, uri=f"key://{step.name}/{k}")

        return [ref(level=lv) for lv in cfg.levels] if step.per_level else ref()

    refs = walk(prof, execute)
    return {name: [r.key for r in v] if isinstance(v, list) else v.key for name, v in refs.items()}


def run_cells(store: ArtifactStore, cfg: SampleCellsConfig) -> Ref:
    """The `cells` stage without an orchestrator: its shard chain (each shard cached), then the commit."""
    shards: list[Ref] = []
    for i in range(len(cells.shard_sizes(cfg))):
        shards.append(run("cells_shard", store, cfg=cfg, index=i, previous=list(shards)))
    return run("cells", store, cfg=cfg, shards=shards)


def run_zc(store: ArtifactStore, cells_ref: Ref, cfg: ScoreCellsConfig, device: str = "cpu") -> Ref:
    """The `zc` stage without an orchestrator: its shards one after the other (each cached), then the commit."""
    shards = [run("zc_shard", store, device, cells_ref=cells_ref, cfg=cfg, index=i)
              for i in range(len(zc.plan(cells_ref, cfg)))]  # fmt: skip
    return run("zc", store, cells_ref=cells_ref, cfg=cfg, shards=shards)


def upstream_inputs(name: str, given: list[Ref]) -> dict[str, Ref | list[Ref]]:
    """The ref inputs (``<stage>_ref``, ``<stage>_refs``) of stage ``name``, from the artifacts ``given`` and,
    for the ones not given, from what those were computed from (their manifests, searched upstream)."""
    s = stage(name)
    out: dict[str, Ref | list[Ref]] = {}
    for arg in s.inputs:
        if arg.endswith("_refs"):
            want = arg.removesuffix("_refs")
            refs = [r for r in given if r.stage == want]
            if not refs:
                raise ArtifactMissingError(f"stage {name} trains on {want!r} artifacts: give at least one")
            out[arg] = refs
        elif arg.endswith("_ref") and arg in s.optional:
            found = _find_any(arg.removesuffix("_ref"), given)
            if found is not None:
                out[arg] = found
        elif arg.endswith("_ref"):
            out[arg] = _find(arg.removesuffix("_ref"), given, name)
    unused = [r.uri for r in given if not any(_reaches(r, v) for v in out.values())]
    if unused:
        raise ArtifactMissingError(f"stage {name} does not read {unused}; it takes {list(s.inputs)}")
    return out


def _find_any(want: str, given: list[Ref]) -> Ref | None:
    frontier, seen = list(given), set()
    while frontier:
        ref = frontier.pop(0)
        if ref.stage == want:
            return ref
        if ref.uri in seen:
            continue
        seen.add(ref.uri)
        frontier += [Ref(**u) for u in store_of(ref).manifest(ref.stage, ref.key).get("upstream_refs", [])]
    return None


def _find(want: str, given: list[Ref], name: str) -> Ref:
    found = _find_any(want, given)
    if found is not None:
        return found
    raise ArtifactMissingError(f"stage {name} needs a {want!r} artifact: give its URI (none of "
                               f"{[r.uri for r in given] or 'the given artifacts'} was computed from one)")  # fmt: skip


def _reaches(ref: Ref, value: Ref | list[Ref]) -> bool:
    return any(r.uri == ref.uri for r in (value if isinstance(value, list) else [value]))
