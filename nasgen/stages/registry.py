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
from nasgen.stages import ccnf, cells, clusters, generate, gvae, hl_evo, nb201_proxies, sg, trained, zc
from nasgen.store import ArtifactStore, Ref

RUN_OPTIONS = ("store", "device", "progress")


@dataclass(frozen=True)
class Stage:
    name: str  # the store's stage directory; also the task, flow and CLI command name (dashes for underscores)
    key_fn: Callable[..., str]
    compute: Callable[..., Ref]
    section: str | None = None  # the Profile field whose config is passed as ``cfg``
    title: str = ""  # for tables and logs
    run_name: str | None = None  # task-run name template over the inputs, e.g. "zc-shard-{index}"
    inputs: tuple[str, ...] = field(init=False)
    uses_device: bool = field(init=False)

    def __post_init__(self) -> None:
        params = inspect.signature(self.compute).parameters
        object.__setattr__(self, "inputs", tuple(p for p in params if p not in RUN_OPTIONS))
        object.__setattr__(self, "uses_device", "device" in params)
        missing = set(inspect.signature(self.key_fn).parameters) - set(self.inputs)
        if missing:
            raise TypeError(f"stage {self.name}: key takes {sorted(missing)}, which compute does not")

    @property
    def command(self) -> str:
        return self.name.replace("_", "-")

    def key(self, **inputs: Any) -> str:
        names = inspect.signature(self.key_fn).parameters
        return self.key_fn(**{n: inputs[n] for n in names})

    def stored(self, store: ArtifactStore, **inputs: Any) -> Ref | None:
        k = self.key(**inputs)
        return store.ref(self.name, k) if store.exists(self.name, k) else None

    def run(self, store: ArtifactStore, device: str = "cpu", progress=None, **inputs: Any) -> Ref:
        """The stored artifact for these inputs, computing (and committing) it first when there is none."""
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            raise ConfigError(f"stage {self.name} takes {list(self.inputs)}, not {sorted(unknown)}")
        ref = self.stored(store, **inputs)
        if ref is not None:
            return ref
        options: dict[str, Any] = {}
        if "progress" in inspect.signature(self.compute).parameters:
            options["progress"] = progress
        if self.uses_device:
            options["device"] = resolve_device(device)
        return self.compute(store, **inputs, **options)


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage(cells.SHARD_STAGE, cells.shard_key, cells.compute_shard, run_name="cells-shard-{index}"),
        Stage(cells.STAGE, cells.key, cells.compute, section="cells", title="cells"),
        Stage(zc.SHARD_STAGE, zc.shard_key, zc.compute_shard, run_name="zc-shard-{index}"),
        Stage(zc.STAGE, zc.key, zc.compute, section="zc", title="ZC scores"),
        Stage(clusters.STAGE, clusters.key, clusters.compute, section="clusters", title="cell families"),
        Stage(gvae.STAGE, gvae.key, gvae.compute, section="gvae", title="G-VAE"),
        Stage(ccnf.STAGE, ccnf.key, ccnf.compute, section="ccnf", title="CCNF"),
        Stage(
            hl_evo.STAGE, hl_evo.key, hl_evo.compute, section="hl_evo", title="HL-Evo", run_name="hl-evo-{level.name}"
        ),  # fmt: skip
        Stage(sg.STAGE, sg.key, sg.compute, section="sg", title="SG"),
        Stage(generate.STAGE, generate.key, generate.compute, section="generate", title="generate"),
        Stage(trained.STAGE, trained.key, trained.compute, title="trained network", run_name="train-{macro.arch_id}"),
        Stage(
            nb201_proxies.STAGE,
            nb201_proxies.key,
            nb201_proxies.compute,
            section="nb201_proxies",
            title="NB-201 proxies",
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
