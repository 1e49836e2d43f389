"""Flow `score-cells`: ZC records of the labelled subset of a cells artifact, one task per shard, fanned out.

Back ends (``runner``): ``threads`` (default), ``processes`` (spawned workers, CUDA-safe), or
``dask://HOST:PORT`` (an existing dask.distributed scheduler, through prefect-dask). Shards already committed
are not recomputed, so a killed run resumes where it stopped. ``shard_indices`` restricts a run to some shards
(one flow run per GPU in a deployment); the `zc` artifact is committed by whichever run finds all shards done.
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

from nasgen.config import ScoreCellsConfig, get_profile, with_overrides
from nasgen.errors import ArtifactMissingError, ConfigError
from nasgen.stages import cells as cell_stage
from nasgen.stages import zc
from nasgen.store import ArtifactStore, Ref, open_ref
from nasgen.zc.scorer import limit_threads, resolve_device
from tasks import zc as zc_tasks
from tasks.stage import run_stage, submit_stage

# On CPU one shard at a time: torch already uses every core inside each op, and two OpenMP teams on the
# same cores slow each other down. On a GPU a second thread overlaps one shard's Python with the other's kernels.
THREAD_WORKERS = {"cpu": 1, "cuda": 2}


def resolve_scoring(profile: str, shard_size: int | None = None, limit: int | None = None) -> ScoreCellsConfig:
    return with_overrides(get_profile(profile).scoring, "score-cells", shard_size=shard_size, n_labelled=limit)


def make_task_runner(runner: str, max_workers: int | None = None, device: str = "cpu") -> TaskRunner:
    """``threads`` | ``processes`` | ``dask://HOST:PORT``."""
    if runner == "threads":
        return ThreadPoolTaskRunner(max_workers=max_workers or THREAD_WORKERS["cpu" if device == "cpu" else "cuda"])
    if runner == "processes":
        workers = max_workers or os.cpu_count() or 1
        threads = max(1, (os.cpu_count() or 1) // workers)  # no oversubscription of torch's intra-op threads
        return ProcessPoolTaskRunner(max_workers=workers, initializer=limit_threads, initargs=(threads,))
    if runner.startswith("dask://"):
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=f"tcp://{runner.removeprefix('dask://')}")
    raise ConfigError(f"unknown runner {runner!r}; use threads, processes or dask://HOST:PORT")


def scoring_store(cells: str | None, store: str | None) -> ArtifactStore:
    """Where the `zc` artifact goes: ``store``, else next to the given cells, else the default store."""
    if cells and store is None:
        return open_ref(cells, stage=cell_stage.STAGE)[0]
    return ArtifactStore(store)


def resolve_cells(cells: str | None, profile: str, store: ArtifactStore) -> Ref:
    if cells:
        return open_ref(cells, stage=cell_stage.STAGE)[1]
    cfg = get_profile(profile).cells
    key = cell_stage.cells_key(cfg)
    if not store.exists(cell_stage.STAGE, key):
        raise ArtifactMissingError(
            f"no cells artifact of profile {profile!r} in {store.root}; run `nasgen cells sample --profile {profile}`"
            " first or pass --cells URI"
        )
    return store.ref(cell_stage.STAGE, key)


@flow(name="score-shards")
def score_shards(
    store: str,
    cells_ref: Ref,
    cfg: ScoreCellsConfig,
    indices: list[int],
    device: str,
    profile: str,
    show_progress: bool,
) -> list[Ref]:
    """The fan-out: one task per shard on this flow's task runner, progress as shards finish."""
    orchestration = get_profile(profile).orchestration
    futures = [
        submit_stage(
            zc_tasks.score_shard, orchestration, store=store, cells_ref=cells_ref, cfg=cfg, index=i, device=device
        )
        for i in indices
    ]
    progress = create_progress_artifact(0.0, description=f"score-cells: {len(indices)} shards")
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


@flow(name="score-cells", log_prints=True)
def score_cells(
    cells: str | None = None,
    profile: str = "demo",
    store: str | None = None,
    shard_size: int | None = None,
    limit: int | None = None,
    device: str = "cpu",
    runner: str = "threads",
    max_workers: int | None = None,
    shard_indices: list[int] | None = None,
    show_progress: bool = False,
) -> Ref | None:
    """Score the first ``limit`` cells (default: the profile's labelled subset) of ``cells`` (a cells
    artifact URI; default the profile's cells in ``store``). The `zc` artifact goes to ``store``, by default
    the cells' own store. Returns its ref, or None when ``shard_indices`` left shards to other runs."""
    log = get_run_logger()
    cfg = resolve_scoring(profile, shard_size, limit)
    device = resolve_device(device)
    task_runner = make_task_runner(runner, max_workers, device)
    st = scoring_store(cells, store)
    cells_ref = resolve_cells(cells, profile, st)
    if zc.is_complete(st, cells_ref, cfg):
        ref = st.ref(zc.STAGE, zc.scores_key(cells_ref, cfg))
        log.info("cache hit: %s", ref.uri)
        return ref
    n_shards = len(zc.plan(cells_ref, cfg))
    wanted = list(range(n_shards)) if shard_indices is None else sorted(set(shard_indices))
    if any(i < 0 or i >= n_shards for i in wanted):
        raise ConfigError(f"shard_indices must lie in 0..{n_shards - 1}")
    done = set(zc.committed_shards(st, cells_ref, cfg))
    todo = [i for i in wanted if i not in done]
    log.info(
        "zc: %d shards of %d cells; %d committed already, %d to score", n_shards, cfg.shard_size, len(done), len(todo)
    )
    if todo:
        score_shards.with_options(task_runner=task_runner)(
            st.root, cells_ref, cfg, todo, device, profile, show_progress
        )
    if len(zc.committed_shards(st, cells_ref, cfg)) < n_shards:
        return None
    refs = [st.ref(zc.SHARD_STAGE, zc.shard_key(cells_ref, cfg, s, e)) for s, e in zc.plan(cells_ref, cfg)]
    orchestration = get_profile(profile).orchestration
    ref = run_stage(zc_tasks.commit_scores, orchestration, store=st.root, cells_ref=cells_ref, cfg=cfg, shards=refs)
    stats = st.read_json(ref, "stats.json")
    if stats["statuses"]["ok"]:
        create_markdown_artifact(
            f"### ZC scores\n{ref.rows} cells, statuses {stats['statuses']}.\n\n"
            f"Distributions and proxy-vs-params plot: `{st.uri(zc.STAGE, ref.key, zc.OVERVIEW)}`",
            description="score-cells overview",
        )
    create_table_artifact(
        [{"proxy": p, **{k: round(v, 4) for k, v in s.items()}} for p, s in stats["proxies"].items()],
        description=f"zc artifact {ref.uri}: {ref.rows} cells, statuses {stats['statuses']}",
    )
    log.info("zc: %s (%s rows, statuses %s); computed %d shards", ref.uri, ref.rows, stats["statuses"], len(todo))
    return ref


if __name__ == "__main__":
    score_cells()
