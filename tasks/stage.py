"""The pattern every stage task follows: a library function wrapped as a Prefect task whose cache key is
the stage's store key, retried with exponential backoff, taking and returning refs, never data.

A cache hit requires the artifact to be committed in the store *now*. ``run_stage`` checks that before the
call and, when the artifact is missing, runs the task with ``refresh_cache`` so it recomputes and overwrites
any stale record; ``compute_key`` also refuses a key for a missing artifact unless the task is refreshing, so
a direct call can never return a stale ref. The store root is part of the key, so stores never share entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect import Task, task
from prefect.cache_policies import CachePolicy
from prefect.tasks import exponential_backoff

from nasgen.config import OrchestrationConfig
from nasgen.store import ArtifactStore

KeyFn = Callable[[dict[str, Any]], str]


@dataclass
class StoreKeyCachePolicy(CachePolicy):
    stage: str = ""
    key_fn: KeyFn | None = None

    def compute_key(self, task_ctx, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs) -> str | None:
        store = ArtifactStore(inputs["store"])
        key = self.key_fn(inputs)
        if not store.exists(self.stage, key) and not task_ctx.task.refresh_cache:
            return None
        return hashlib.sha256(f"{store.root}|{self.stage}|{key}".encode()).hexdigest()

    def committed(self, inputs: dict[str, Any]) -> bool:
        return ArtifactStore(inputs["store"]).exists(self.stage, self.key_fn(inputs))


def stage_task(
    fn: Callable[..., Any],
    *,
    stage: str,
    key_fn: KeyFn,
    name: str,
    run_name: str | None = None,
    orchestration: OrchestrationConfig = OrchestrationConfig(),
) -> Task:
    """Wrap ``fn(store: str, ...) -> Ref`` as a cached, retried Prefect task."""
    return task(
        fn,
        name=name,
        task_run_name=run_name,
        cache_policy=StoreKeyCachePolicy(stage=stage, key_fn=key_fn),
        persist_result=True,
        **_retry_options(orchestration),
    )


def _retry_options(orchestration: OrchestrationConfig) -> dict[str, Any]:
    return {
        "retries": orchestration.retries,
        "retry_delay_seconds": exponential_backoff(orchestration.retry_backoff_factor),
        "retry_jitter_factor": orchestration.retry_jitter_factor,
    }


def _configured(t: Task, orchestration: OrchestrationConfig, inputs: dict[str, Any]) -> Task:
    policy = t.cache_policy
    refresh = isinstance(policy, StoreKeyCachePolicy) and not policy.committed(inputs)
    return t.with_options(refresh_cache=refresh, **_retry_options(orchestration))


def run_stage(t: Task, orchestration: OrchestrationConfig, return_state: bool = False, **inputs: Any) -> Any:
    """Call a stage task with a profile's retries; recompute (refresh the cache) when its artifact is missing."""
    return _configured(t, orchestration, inputs)(**inputs, return_state=return_state)


def submit_stage(t: Task, orchestration: OrchestrationConfig, **inputs: Any) -> Any:
    """``run_stage`` through the flow's task runner: returns a future (threads, processes, Dask)."""
    return _configured(t, orchestration, inputs).submit(**inputs)
