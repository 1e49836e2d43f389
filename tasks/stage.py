"""One task factory for every stage of the registry (``nasgen.stages.registry``): a stage becomes a Prefect task
whose parameters are ``store``, the stage's inputs and ``device``, whose cache key is the stage's store key,
retried with exponential backoff, taking and returning refs, never data.

A cache hit requires the artifact to be committed in the store *now*. ``run_stage`` checks that before the
call and, when the artifact is missing, runs the task with ``refresh_cache`` so it recomputes and overwrites
any stale record; ``compute_key`` also refuses a key for a missing artifact unless the task is refreshing, so
a direct call can never return a stale ref. The store root is part of the key, so stores never share entries.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from prefect import Task, task
from prefect.cache_policies import CachePolicy
from prefect.settings import PREFECT_LOGGING_EXTRA_LOGGERS
from prefect.tasks import exponential_backoff

from nasgen.config import OrchestrationConfig
from nasgen.stages.registry import Stage, stage
from nasgen.store import ArtifactStore, Ref


def _stage_lines_to_the_server() -> None:
    """With PREFECT_LOGGING_EXTRA_LOGGERS naming ``nasgen`` (every deployment sets it), the stages' own lines
    ("<stage> <key>: computing", "... waiting for its commit") reach the run's logs in the UI. Prefect gives an
    extra logger its handlers but not its level, so it gets `prefect.extra`'s (PREFECT_LOGGING_LEVEL)."""
    if "nasgen" in (PREFECT_LOGGING_EXTRA_LOGGERS.value() or ()):
        logging.getLogger("nasgen").setLevel(logging.getLogger("prefect.extra").level)


_stage_lines_to_the_server()


@dataclass
class StoreKeyCachePolicy(CachePolicy):
    stage: str = ""

    def key_of(self, inputs: dict[str, Any]) -> str:
        s = stage(self.stage)
        return s.key(**{k: v for k, v in inputs.items() if k in s.inputs})

    def compute_key(self, task_ctx, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs) -> str | None:
        store = ArtifactStore(inputs["store"])
        key = self.key_of(inputs)
        if not store.exists(self.stage, key) and not task_ctx.task.refresh_cache:
            return None
        return hashlib.sha256(f"{store.root}|{self.stage}|{key}".encode()).hexdigest()

    def committed(self, inputs: dict[str, Any]) -> bool:
        return ArtifactStore(inputs["store"]).exists(self.stage, self.key_of(inputs))


def _task_function(s: Stage):
    """``(store, <inputs>, device) -> Ref`` with that exact signature (the Prefect UI shows the parameters)."""

    def run(store: str, device: str = "cpu", **inputs: Any) -> Ref:
        return s.run(ArtifactStore(store), device=device, **inputs)

    keyword = inspect.Parameter.KEYWORD_ONLY
    optional = {n: {"default": None} for n in s.optional}  # e.g. HL-Evo's graphpnas_ref
    params = [
        inspect.Parameter("store", keyword),
        *(inspect.Parameter(n, keyword, **optional.get(n, {})) for n in s.inputs),
    ]
    if s.uses_device:
        params.append(inspect.Parameter("device", keyword, default="cpu"))
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__name__ = run.__qualname__ = s.name
    run.__doc__ = f"Stage `{s.name}` ({s.title or s.name})."
    return run


@cache
def stage_task(name: str) -> Task:
    """The cached, retried Prefect task of registry stage ``name`` (one object per stage and process)."""
    s = stage(name)
    return task(_task_function(s), name=s.command, task_run_name=s.run_name, persist_result=True,
                cache_policy=StoreKeyCachePolicy(stage=s.name), **_retry_options(OrchestrationConfig()))  # fmt: skip


def _retry_options(orchestration: OrchestrationConfig) -> dict[str, Any]:
    return {
        "retries": orchestration.retries,
        "retry_delay_seconds": exponential_backoff(orchestration.retry_backoff_factor),
        "retry_jitter_factor": orchestration.retry_jitter_factor,
    }


def _configured(name: str, orchestration: OrchestrationConfig, inputs: dict[str, Any]) -> Task:
    t = stage_task(name)
    return t.with_options(refresh_cache=not t.cache_policy.committed(inputs), **_retry_options(orchestration))


def run_stage(name: str, orchestration: OrchestrationConfig, return_state: bool = False, **inputs: Any) -> Any:
    """Call a stage's task with a profile's retries; recompute (refresh the cache) when its artifact is missing."""
    return _configured(name, orchestration, inputs)(**inputs, return_state=return_state)


def submit_stage(name: str, orchestration: OrchestrationConfig, **inputs: Any) -> Any:
    """``run_stage`` through the flow's task runner: returns a future (threads, processes, Dask)."""
    return _configured(name, orchestration, inputs).submit(**inputs)
