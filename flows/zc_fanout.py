"""Flow `zc-fanout` (deployment `zc-fanout`): ZC scoring fanned out as runs of the `zc` deployment.

Each child is a `zc` flow run restricted to a group of shards and picked up by any worker of its pool
(on a GPU pool one worker per GPU: `nasgen worker --pool gpu --gpu I`). Results land in the shared store as
shard artifacts, never only in Prefect results, and the parent decides what is done by reading the store.
A child that ends in any state but Completed (a crashed machine's runs are marked Crashed by the zombie
automation `nasgen deploy` installs) gets its uncommitted shards dispatched again, up to ``max_rounds``
rounds; a shard is only dispatched again once the run holding it has ended, so each shard completes once.
The parent then commits the `zc` artifact.
"""

from __future__ import annotations

import time

from prefect import flow, get_client, get_run_logger
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.deployments import run_deployment

from flows.options import RunOptions
from flows.reporting import artifact_key
from flows.zc import cells_and_store, zc_flow
from nasgen.errors import ConfigError, NasgenError
from nasgen.stages import zc
from nasgen.store import Ref

SHARD_DEPLOYMENT = "zc/zc"  # flow/deployment: each deployment is named after its flow


class ShardsIncompleteError(NasgenError):
    """Shards still uncommitted after every dispatch round."""


def shard_groups(todo: list[int], parts: int) -> list[list[int]]:
    """``todo`` dealt round-robin into at most ``parts`` non-empty groups (neighbouring shards spread out)."""
    return [todo[k::parts] for k in range(min(parts, len(todo)))]


def wait_for_runs(run_ids: list, poll_seconds: float, timeout_seconds: float, on_poll) -> dict[str, str]:
    """Block until every run is final; {run name: final state name}."""
    deadline = time.monotonic() + timeout_seconds
    with get_client(sync_client=True) as client:
        while True:
            runs = [client.read_flow_run(i) for i in run_ids]
            on_poll()
            if all(r.state is not None and r.state.is_final() for r in runs):
                return {r.name: r.state.name for r in runs}
            if time.monotonic() > deadline:
                waiting = {r.name: r.state.name if r.state else None for r in runs
                           if not (r.state and r.state.is_final())}  # fmt: skip
                raise ShardsIncompleteError(f"child runs not finished after {timeout_seconds:.0f} s: {waiting}")
            time.sleep(poll_seconds)


@flow(name="zc-fanout", log_prints=True)
def zc_fanout(
    cells: str | None = None,
    run: RunOptions = RunOptions(device="auto"),
    parts: int = 4,
    shard_deployment: str = SHARD_DEPLOYMENT,
    max_rounds: int = 3,
    poll_seconds: float = 5.0,
    round_timeout_seconds: float = 24 * 3600.0,
) -> Ref:
    """Score the profile's labelled cells with ``parts`` concurrent `zc` deployment runs; returns the `zc` ref."""
    log = get_run_logger()
    if parts < 1 or max_rounds < 1:
        raise ConfigError("parts and max_rounds must be >= 1")
    prof = run.resolved_profile()  # the device is resolved where the shards run: on the workers
    cfg = prof.zc
    cells_ref, st = cells_and_store(cells, prof, run.store)
    n = len(zc.plan(cells_ref, cfg))
    progress = create_progress_artifact(0.0, description=f"zc-fanout: {n} shards over {parts} runs")

    def committed() -> set[int]:
        done = set(zc.committed_shards(st, cells_ref, cfg))
        update_progress_artifact(progress, 100.0 * len(done) / max(n, 1))
        return done

    rounds = []
    for rnd in range(1, max_rounds + 1):
        done = committed()
        todo = [i for i in range(n) if i not in done]
        if not todo:
            break
        children = [
            run_deployment(shard_deployment, timeout=0, tags=["nasgen", "zc-shard"],
                           flow_run_name=f"zc-shards-r{rnd}-{g[0]}-of-{n}",
                           parameters={"cells": cells_ref.uri, "shard_indices": g,
                                       "run": {"profile": prof.model_dump(mode="json"), "store": st.root,
                                               "device": run.device}})
            for g in shard_groups(todo, parts)
        ]  # fmt: skip
        log.info("round %d: %d shards dispatched to %d runs of %s", rnd, len(todo), len(children), shard_deployment)
        states = wait_for_runs([c.id for c in children], poll_seconds, round_timeout_seconds, committed)
        rounds.append({"round": rnd, "dispatched": len(todo), "runs": len(children),
                       "not_completed": sorted(k for k, v in states.items() if v != "Completed")})  # fmt: skip
        if rounds[-1]["not_completed"]:
            log.warning("round %d: runs %s did not complete; their uncommitted shards go out again", rnd,
                        rounds[-1]["not_completed"])  # fmt: skip
    missing = sorted(set(range(n)) - committed())
    create_table_artifact(rounds or [{"round": 0, "dispatched": 0}], key=artifact_key("zc-fanout", prof.name),
                          description="zc-fanout dispatch rounds")  # fmt: skip
    if missing:
        raise ShardsIncompleteError(f"shards {missing} still uncommitted after {max_rounds} rounds: {rounds}")
    return zc_flow(cells=cells_ref.uri, run=run.child(prof, store=st.root, device="cpu"))
