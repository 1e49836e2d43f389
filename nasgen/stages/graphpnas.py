"""Stage `graphpnas`: one GraphPNAS run on GraphNet cells (nasgen.search.graphpnas), its generator frozen as the
learnt distribution of good cells — what HL-Evo draws from with ``hl_evo.cell_source = graphpnas``.

Written: ``weights.safetensors`` (the generator's state dict), ``model.json`` (its config), ``buffer.json``
(the final replay buffer: cell JSON and reward, best first), ``history.parquet`` (every evaluated alpha_x, the
HL-Evo history's schema), ``stats.json`` (evaluations, refusals, best and top-10 objective, seconds, and the
validity / uniqueness of ``diversity_samples`` draws of the trained generator) and ``curve.png``.
"""

from __future__ import annotations

from nasgen.errors import ConfigError, CorruptArtifactError
from nasgen.graphpnas.cells import sample_cells
from nasgen.graphpnas.config import GraphPNASCellsConfig, GraphPNASConfig
from nasgen.graphpnas.graphs import graphnet_space, to_cell
from nasgen.graphpnas.model import Generator
from nasgen.search import graphpnas as gp_search
from nasgen.search.history import curve_png, schema, to_table
from nasgen.search.objective import ZCObjective
from nasgen.stages.readers import METRICS
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "graphpnas"
WEIGHTS = "weights.safetensors"
HISTORY = "history.parquet"


def key(cfg: GraphPNASCellsConfig) -> str:
    return content_key(STAGE, cfg)


def compute(store: ArtifactStore, cfg: GraphPNASCellsConfig, progress=None, device: str = "cpu") -> Ref:
    evaluator = ZCObjective(cfg.zc, device, objective=cfg.objective)
    run = gp_search.search_cells(cfg, evaluator, progress=progress)
    if not run.result.history:
        raise ConfigError(f"GraphPNAS evaluated no cell: all {run.refused} draws broke max_params={cfg.max_params}")
    draws = sample_cells(run.model, cfg.diversity_samples, cfg.seed)
    best = max(run.result.history, key=lambda r: r["fitness"])
    stats = {
        "evaluations": run.result.evaluations,
        "refused": run.refused,
        "objective": cfg.objective,
        "best_fitness": best["fitness"],
        "best_cell": best["cells"][0],
        "top10_mean": gp_search.top_mean(run.result, 10),
        "buffer": len(run.buffer),
        "seconds": run.seconds,
        "samples": gp_search.sample_stats(draws, cfg),
    }
    with store.writer(STAGE, key(cfg), config=cfg) as w:
        w.write_safetensors(WEIGHTS, {n: v.detach().cpu() for n, v in run.model.state_dict().items()})
        w.write_json("model.json", {"config": cfg.graphpnas.model_dump(mode="json")})
        w.write_json("buffer.json", [{"cell": to_cell(g).to_json(), "reward": r} for g, r in run.buffer.items])
        w.write_parquet(HISTORY, to_table(run.result.history, cfg.zc.proxies), schema(cfg.zc.proxies))
        w.write_json(METRICS, stats)
        w.write_bytes("curve.png", curve_png(run.result.history, f"GraphPNAS, {cfg.max_params} params", cfg.objective))
        w.rows = len(run.result.history)
        w.meta.update(stats={k: v for k, v in stats.items() if k != "samples"})
    return w.ref


def load_generator(ref: Ref) -> Generator:
    st = store_of(ref)
    cfg = GraphPNASConfig(**st.read_json(ref, "model.json")["config"])
    model = Generator(graphnet_space(), cfg)
    try:
        model.load_state_dict(st.read_safetensors(ref, WEIGHTS))
    except RuntimeError as e:
        raise CorruptArtifactError(f"GraphPNAS weights at {ref.uri} do not fit its config: {e}") from None
    return model.eval()


def stats(ref: Ref) -> dict:
    return store_of(ref).read_json(ref, METRICS)


def cell_source(model: Generator):
    """GenCell for HL-Evo from the learnt distribution. GraphPNAS is unconditional: the family a position
    carries is not a condition here, so the cluster argument is ignored (a change-cluster mutation is then one
    more redraw). Seeded from the search's own rng."""

    def gen_cell(cluster: int, rng):
        cells = sample_cells(model, 1, int(rng.integers(2**31)))
        if cells[0] is None:  # cannot happen: the generator is valid by construction (tests)
            raise CorruptArtifactError("the GraphPNAS generator drew an invalid cell")
        return cells[0]

    return gen_cell
