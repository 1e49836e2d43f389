"""Flow `zc`: ZC records of the labelled subset of a cells artifact, one task per shard, fanned out.

Back ends (``runner``): ``threads``, ``processes`` (spawned workers, CUDA-safe), or
``dask://HOST:PORT`` (an existing dask.distributed scheduler, through prefect-dask). Shards already committed
are not recomputed, so a killed run resumes where it stopped. ``shard_indices`` restricts a run to some shards
(one flow run per GPU in a deployment); the `zc` artifact is committed by whichever run finds all shards done.
Without a ``runner`` the profile's ``orchestration.zc_runner`` decides (``auto``: processes on CPU, threads on
a GPU).
"""

from __future__ import annotations

import os

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.options import RunOptions
from flows.reporting import artifact_key
from nasgen.config import OrchestrationConfig, Profile
from nasgen.device import cores_per_job, limit_threads
from nasgen.errors import ConfigError
from nasgen.stages import cells as cell_stage
from nasgen.stages import zc
from nasgen.stages.pipeline import lookup
from nasgen.store import ArtifactStore, Ref, open_ref
from nasgen.zc.config import ScoreCellsConfig
from tasks.stage import run_stage, submit_stage

# On CPU one shard at a time: torch already uses every core inside each op, and two OpenMP teams on the
# same cores slow each other down. On a GPU a second thread overlaps one shard's Python with the other's kernels.
THREAD_WORKERS = {"cpu": 1, "cuda": 2}
RUNNERS = "threads | processes | dask://HOST:PORT"


def default_runner(orchestration: OrchestrationConfig, device: str) -> str:
    if orchestration.zc_runner != "auto":
        return orchestration.zc_runner
    return "processes" if device == "cpu" else "threads"


def make_task_runner(runner: str, max_workers: int | None = None, device: str = "cpu") -> TaskRunner:
    """``threads`` | ``processes`` | ``dask://HOST:PORT``."""
    if runner == "threads":
        return ThreadPoolTaskRunner(max_workers=max_workers or THREAD_WORKERS["cpu" if device == "cpu" else "cuda"])
    if runner == "processes":
        workers = max_workers or os.cpu_count() or 1
        return ProcessPoolTaskRunner(max_workers=workers, initializer=limit_threads, initargs=(cores_per_job(workers),))
    if runner.startswith("dask://"):
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=f"tcp://{runner.removeprefix('dask://')}")
    raise ConfigError(f"unknown runner {runner!r}; use {RUNNERS}")


def cells_and_store(cells: str | None, prof: Profile, store: str | None) -> tuple[Ref, ArtifactStore]:
    """The cells to score (the URI given, else the profile's in the store) and where the `zc` artifact goes
    (``store``, else the cells' own store)."""
    if cells:
        c_store, ref = open_ref(cells, stage=cell_stage.STAGE)
        return ref, c_store if store is None else ArtifactStore(store)
    st = ArtifactStore(store)
    return lookup(st, prof, upto="cells")["cells"], st


@flow(name="zc-shards")
def zc_shards(store: str, cells_ref: Ref, cfg: ScoreCellsConfig, indices: list[int], device: str,
              orchestration: OrchestrationConfig, show_progress: bool) -> list[Ref]:  # fmt: skip
    """The fan-out: one task per shard on this flow's task runner, progress as shards finish."""
    futures = [submit_stage("zc_shard", orchestration, store=store, cells_ref=cells_ref, cfg=cfg, index=i,
                            device=device) for i in indices]  # fmt: skip
    progress = create_progress_artifact(0.0, description=f"zc: {len(indices)} shards")
    bar = _bar(show_progress, len(indices))
    for done, f in enumerate(as_completed(futures), start=1):
        f.result()  # raise the first shard failure (after its retries)
        update_progress_artifact(progress, 100.0 * done / len(indices))
        if bar is not None:
            bar[0].advance(bar[1])
    if bar is not None:
        bar[0].stop()
    return [f.result() for f in futures]


def _bar(show: bool, total: int):
    if not show:
        return None
    from rich.progress import Progress

    p = Progress(transient=False)
    p.start()
    return p, p.add_task("zc shards", total=total)


@flow(name="zc", log_prints=True)
def zc_flow(
    cells: str | None = None,
    run: RunOptions = RunOptions(),
    runner: str | None = None,
    max_workers: int | None = None,
    shard_indices: list[int] | None = None,
    show_progress: bool = False,
) -> Ref | None:
    """Score the profile's labelled subset (``{"zc.n_labelled": N}`` to change it) of ``cells`` (a cells
    artifact URI; default the profile's cells in the store). Returns the `zc` ref, or None when
    ``shard_indices`` left shards to other runs."""
    log = get_run_logger()
    prof, device = run.settle()
    cfg = prof.zc
    task_runner = make_task_runner(runner or default_runner(prof.orchestration, device), max_workers, device)
    cells_ref, st = cells_and_store(cells, prof, run.store)
    if zc.is_complete(st, cells_ref, cfg):
        ref = st.ref(zc.STAGE, zc.key(cells_ref, cfg))
        log.info("cache hit: %s", ref.uri)
        report(ref, prof)
        return ref
    n_shards = len(zc.plan(cells_ref, cfg))
    wanted = list(range(n_shards)) if shard_indices is None else sorted(set(shard_indices))
    if any(i < 0 or i >= n_shards for i in wanted):
        raise ConfigError(f"shard_indices must lie in 0..{n_shards - 1}")
    done = set(zc.committed_shards(st, cells_ref, cfg))
    todo = [i for i in wanted if i not in done]
    log.info("zc: %d shards of %d cells; %d committed already, %d to score", n_shards, cfg.shard_size,
             len(done), len(todo))  # fmt: skip
    if todo:
        zc_shards.with_options(task_runner=task_runner)(st.root, cells_ref, cfg, todo, device, prof.orchestration,
                                                        show_progress)  # fmt: skip
    if len(zc.committed_shards(st, cells_ref, cfg)) < n_shards:
        return None
    shards = [st.ref(zc.SHARD_STAGE, zc.shard_key(cells_ref, cfg, i)) for i in range(len(zc.plan(cells_ref, cfg)))]
    ref = run_stage("zc", prof.orchestration, store=st.root, cells_ref=cells_ref, cfg=cfg, shards=shards)
    report(ref, prof)
    return ref


def report(ref: Ref, prof: Profile) -> None:
    stats = zc.stats(ref)
    if stats["statuses"]["ok"]:
        create_markdown_artifact(
            f"### ZC scores\n{ref.rows} cells, statuses {stats['statuses']}.\n\n"
            f"Distributions and proxy-vs-params plot: `{ref.uri}/{zc.OVERVIEW}`",
            key=artifact_key("zc", prof.name, "overview"),
            description="zc overview",
        )
    create_table_artifact(
        [{"proxy": p, **{k: round(v, 4) for k, v in s.items()}} for p, s in stats["proxies"].items()],
        key=artifact_key("zc", prof.name),
        description=f"zc artifact {ref.uri}: {ref.rows} cells, statuses {stats['statuses']}",
    )
    get_run_logger().info("zc: %s (%s rows, statuses %s)", ref.uri, ref.rows, stats["statuses"])
