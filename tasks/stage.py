"""The pattern every stage task follows: a library function wrapped as a Prefect task whose cache key is
the stage's store key, retried with exponential backoff, taking and returning refs, never data.

A cache hit requires the artifact to be committed in the store *now*: if it was deleted, ``compute_key``
returns None, caching is skipped for that run and the stage recomputes instead of returning a stale ref.
The store root is part of the key, so two stores never share cache entries.
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
        if not store.exists(self.stage, key):
            return None
        return hashlib.sha256(f"{store.root}|{self.stage}|{key}".encode()).hexdigest()


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
        retries=orchestration.retries,
        retry_delay_seconds=exponential_backoff(orchestration.retry_backoff_factor),
        retry_jitter_factor=orchestration.retry_jitter_factor,
    )


def with_orchestration(t: Task, orchestration: OrchestrationConfig) -> Task:
    """The same task with the retry settings of a profile."""
    return t.with_options(
        retries=orchestration.retries,
        retry_delay_seconds=exponential_backoff(orchestration.retry_backoff_factor),
        retry_jitter_factor=orchestration.retry_jitter_factor,
    )
