"""The stage registry: every stage written once, as its library module's ``key`` and ``compute`` plus one entry.

A stage turns inputs (upstream refs, its config, an index, ...) into one committed artifact. Its inputs are the
keyword arguments of ``compute`` besides ``store``, ``device`` and ``progress``; its key function takes a
subset of them. ``Stage.run`` is the one place that returns a stored artifact instead of computing it again.
The orchestrator (``tasks/``, ``flows/``) and the CLI derive tasks, flows and commands from these entries, and
``nasgen.stages.pipeline`` declares which stage feeds which.

Adding a stage: write ``key`` and ``compute`` in its module (``nasgen/stages/<name>.py``), add one ``Stage``
below; a pretrain stage also takes its place in ``pipeline.PRETRAIN``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nasgen.device import resolve_device
from nasgen.errors import ConfigError
from nasgen.lease import once
from nasgen.nb201.arch import SPACE_SIZE
from nasgen.progress import STAGE_LINE_EVERY_S, ProgressLine
from nasgen.stages import (
    arch2vec,
    cate,
    ccnf,
    cells,
    clusters,
    curves,
    export,
    generate,
    graphpnas,
    gvae,
    hl_evo,
    hm_nas,
    latency,
    nb201_proxies,
    sg,
    supernet,
    trained,
    zc,
)
from nasgen.store import ArtifactStore, Ref

RUN_OPTIONS = ("store", "device", "progress")


@dataclass(frozen=True)
class Stage:
    name: str  # the store's stage directory; also the task, flow and CLI command name (dashes for underscores)
    key_fn: Callable[..., str]
    compute: Callable[..., Ref]
    section: str | None = None  # the profile section whose config is passed as ``cfg``
    title: str = ""  # for tables and logs
    run_name: str | None = None  # task-run name template over the inputs, e.g. "zc-shard-{index}"
    units: Callable[..., int] | None = None  # (some inputs) -> the progress ticks compute makes (an upper bound)
    inputs: tuple[str, ...] = field(init=False)
    optional: tuple[str, ...] = field(init=False)  # inputs with a default (e.g. HL-Evo's graphpnas_ref)
    uses_device: bool = field(init=False)

    def __post_init__(self) -> None:
        params = inspect.signature(self.compute).parameters
        object.__setattr__(self, "inputs", tuple(p for p in params if p not in RUN_OPTIONS))
        object.__setattr__(self, "optional", tuple(p for p in self.inputs if params[p].default is not params[p].empty))
        object.__setattr__(self, "uses_device", "device" in params)
        for what, fn in (("key", self.key_fn), ("units", self.units)):
            missing = set(inspect.signature(fn).parameters) - set(self.inputs) if fn else set()
            if missing:
                raise TypeError(f"stage {self.name}: {what} takes {sorted(missing)}, which compute does not")

    @property
    def command(self) -> str:
        return self.name.replace("_", "-")

    def key(self, **inputs: Any) -> str:
        return _call(self.key_fn, inputs)

    def units_of(self, **inputs: Any) -> int:
        """The progress ticks ``compute`` makes for these inputs (1 for a stage that declares none)."""
        return 1 if self.units is None else _call(self.units, inputs)

    def stored(self, store: ArtifactStore, **inputs: Any) -> Ref | None:
        k = self.key(**inputs)
        return store.ref(self.name, k) if store.exists(self.name, k) else None

    def run(self, store: ArtifactStore, device: str = "cpu", progress=None, **inputs: Any) -> Ref:
        """The stored artifact for these inputs, computing (and committing) it first when there is none."""
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            raise ConfigError(f"stage {self.name} takes {list(self.inputs)}, not {sorted(unknown)}")
        # an identical run elsewhere (another flow run, worker or machine): wait for its commit instead
        return once(store, self.name, self.key(**inputs), lambda: self._compute(store, device, progress, inputs))

    def _compute(self, store: ArtifactStore, device: str, progress, inputs: dict[str, Any]) -> Ref:
        options: dict[str, Any] = {}
        line = None
        if "progress" in inspect.signature(self.compute).parameters:
            if progress is None and self.units is not None:  # nobody watches: say it on stderr, log-readable
                label = self.run_name.format(**inputs) if self.run_name else self.command
                line = ProgressLine(label, self.units_of(**inputs), every=STAGE_LINE_EVERY_S)
                progress = line.advance
            options["progress"] = progress
        if self.uses_device:
            options["device"] = resolve_device(device)
        ref = self.compute(store, **inputs, **options)
        if line is not None:
            line.finish()
        return ref


def _call(fn: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    """``fn`` on its arguments among ``inputs``; an optional one (with a default) may be absent."""
    params = inspect.signature(fn).parameters
    return fn(**{n: inputs[n] for n, p in params.items() if n in inputs or p.default is inspect.Parameter.empty})


def _epochs(cfg) -> int:
    return cfg.epochs


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage(
            cells.SHARD_STAGE,
            cells.shard_key,
            cells.compute_shard,
            run_name="cells-shard-{index}",
            units=lambda cfg, index: cells.shard_sizes(cfg)[index],
        ),
        Stage(cells.STAGE, cells.key, cells.compute, section="cells", title="cells"),
        Stage(
            zc.SHARD_STAGE,
            zc.shard_key,
            zc.compute_shard,
            run_name="zc-shard-{index}",
            units=lambda cells_ref, cfg, index: zc.shard_length(cells_ref, cfg, index),
        ),
        Stage(zc.STAGE, zc.key, zc.compute, section="zc", title="ZC scores"),
        Stage(
            clusters.STAGE,
            clusters.key,
            clusters.compute,
            section="clusters",
            title="clusters (cell families)",
            units=lambda cfg: cfg.k_max - cfg.k_min + 1,
        ),
        Stage(gvae.STAGE, gvae.key, gvae.compute, section="gvae", title="G-VAE", units=_epochs),
        Stage(ccnf.STAGE, ccnf.key, ccnf.compute, section="ccnf", title="CCNF", units=_epochs),
        Stage(
            hl_evo.STAGE,
            hl_evo.key,
            hl_evo.compute,
            section="hl_evo",
            title="HL-Evo",
            run_name="hl-evo-{level.name}",
            units=lambda cfg: cfg.iterations,
        ),  # fmt: skip
        Stage(sg.STAGE, sg.key, sg.compute, section="sg", title="SG", units=_epochs),
        Stage(
            generate.STAGE,
            generate.key,
            generate.compute,
            section="generate",
            title="generate",
            units=lambda cfg: cfg.n,
        ),
        Stage(
            latency.TABLE_STAGE,
            latency.table_key,
            latency.compute_table,
            section="latency_table",
            title="latency table",
            units=latency.table_units,
        ),
        Stage(
            latency.MODEL_STAGE,
            latency.model_key,
            latency.compute_model,
            section="latency_model",
            title="latency model",
            units=lambda cfg: cfg.networks,
        ),
        Stage(
            latency.MEASURED_STAGE,
            latency.measured_key,
            latency.compute_measured,
            title="measured latency",
            run_name="latency-{macro.arch_id}",
        ),
        Stage(export.STAGE, export.key, export.compute, section="export", title="export", run_name="export-{fmt}"),
        Stage(
            trained.STAGE,
            trained.key,
            trained.compute,
            title="trained network",
            run_name="train-{macro.arch_id}",
            units=lambda recipe: recipe.epochs if recipe.stop_after is None else min(recipe.epochs, recipe.stop_after),
        ),
        Stage(
            curves.STAGE,
            curves.key,
            curves.compute,
            title="curve table",
            units=lambda trained_refs: len(trained_refs),
        ),
        Stage(
            nb201_proxies.STAGE,
            nb201_proxies.key,
            nb201_proxies.compute,
            section="nb201_proxies",
            title="NB-201 proxies",
            units=lambda cfg: cfg.n or SPACE_SIZE,
        ),
        Stage(arch2vec.STAGE, arch2vec.key, arch2vec.compute, section="arch2vec", title="arch2vec", units=_epochs),
        Stage(
            arch2vec.GRAPHNET_STAGE,
            arch2vec.graphnet_key,
            arch2vec.graphnet_compute,
            section="arch2vec",
            title="arch2vec (GraphNet)",
            units=_epochs,
        ),
        Stage(cate.STAGE, cate.key, cate.compute, section="cate", title="CATE", units=_epochs),
        Stage(
            cate.GRAPHNET_STAGE,
            cate.graphnet_key,
            cate.graphnet_compute,
            section="cate",
            title="CATE (GraphNet)",
            units=_epochs,
        ),
        Stage(
            graphpnas.STAGE,
            graphpnas.key,
            graphpnas.compute,
            section="graphpnas",
            title="GraphPNAS (GraphNet)",
            units=lambda cfg: cfg.evaluations,
        ),
        Stage(
            supernet.STAGE, supernet.key, supernet.compute, section="supernet", title="HM-NAS supernet", units=_epochs
        ),  # fmt: skip
        Stage(
            hm_nas.STAGE,
            hm_nas.key,
            hm_nas.compute,
            section="hm_nas",
            title="HM-NAS masks and fine-tuning",
            units=lambda cfg: cfg.mask_epochs + cfg.finetune_epochs,
        ),
    )
}


def stage(name: str) -> Stage:
    try:
        return STAGES[name.replace("-", "_")]
    except KeyError:
        raise ConfigError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}") from None


def run(name: str, store: ArtifactStore, device: str = "cpu", progress=None, **inputs: Any) -> Ref:
    """``stage(name).run``: the library's way to run one stage (cached in ``store``)."""
    return stage(name).run(store, device=device, progress=progress, **inputs)
