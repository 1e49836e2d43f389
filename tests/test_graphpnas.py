"""GraphPNAS's generator: only valid graphs, an exactly normalised likelihood, the sampler's own probabilities."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.config import bench_profile
from nasgen.errors import InvalidCellError
from nasgen.graphpnas.config import GraphPNASConfig
from nasgen.graphpnas.graphs import Graph, GraphSpace, from_cell, graphnet_space, to_cell
from nasgen.graphpnas.model import Generator
from nasgen.nb201.arch import check
from nasgen.nb201.graphs import graph_space as nb201_space
from nasgen.nb201.graphs import to_arch as to_nb201

SMALL = GraphPNASConfig(hidden=32, steps=2, mixtures=3)


def _model(space, seed=0):
    torch.manual_seed(seed)
    return Generator(space, SMALL)


def _all_graphs(space: GraphSpace):
    """Every valid graph of a free space, by brute force over op types and forward edge sets."""
    out = []
    for k in range(1, space.max_ops + 1):
        n = k + 2
        pairs = [(i, j) for j in range(n) for i in range(j)]
        for ops in itertools.product(range(space.n_types), repeat=k):
            for bits in itertools.product((0, 1), repeat=len(pairs)):
                g = Graph(ops, frozenset(p for p, b in zip(pairs, bits) if b))
                try:
                    out.append(space.check(g))
                except InvalidCellError:
                    pass
    return out


def test_likelihood_sums_to_one_over_every_graph_of_a_tiny_space():
    space = GraphSpace("tiny", n_types=2, max_ops=2)
    graphs = _all_graphs(space)
    # k=1: 2 types x 2 (edge 0->out free). k=2: 4 type pairs x (node 2 reads {1} or {0,1}: 0->out, 1->out free, 4;
    # node 2 reads {0}: node 1 must feed the output, 0->out free, 2) = 4 x 10.
    assert len(graphs) == 2 * 2 + 4 * (2 * 4 + 2)
    with torch.no_grad():
        total = _model(space).log_likelihood(graphs).exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-5)


def test_sampled_log_probability_equals_the_likelihood_of_the_sample():
    space = graphnet_space()
    model = _model(space, seed=1)
    graphs, logp = model.sample(40, torch.Generator().manual_seed(0))
    with torch.no_grad():
        ll = model.log_likelihood(graphs).numpy()
    np.testing.assert_allclose(ll, logp, rtol=1e-4, atol=1e-4)


def test_sampler_only_produces_valid_graphnet_cells():
    space = graphnet_space()
    graphs, _ = _model(space, seed=2).sample(200, torch.Generator().manual_seed(3))
    cells = [to_cell(g) for g in graphs]  # Cell validates strictly
    assert {c.n_ops for c in cells} <= set(range(1, 7))
    assert len({c.n_ops for c in cells}) > 1
    assert all(from_cell(c) == g for c, g in zip(cells, graphs))  # stored order is the generation order


def test_nb201_space_generates_ops_on_its_fixed_topology():
    space = nb201_space()
    model = _model(space)
    graphs, logp = model.sample(30, torch.Generator().manual_seed(0))
    assert all(g.edges == space.fixed_edges and len(g.ops) == 6 for g in graphs)
    assert all(check(to_nb201(g)) for g in graphs)
    with torch.no_grad():
        np.testing.assert_allclose(model.log_likelihood(graphs).numpy(), logp, rtol=1e-4, atol=1e-4)
    every = [Graph(ops, space.fixed_edges) for ops in itertools.product(range(5), repeat=6)]
    with torch.no_grad():
        total = torch.cat([model.log_likelihood(every[i : i + 3125]).exp() for i in range(0, len(every), 3125)])
    assert float(total.sum()) == pytest.approx(1.0, abs=1e-4)


def test_invalid_graph_is_refused_with_the_reason():
    space = graphnet_space()
    with pytest.raises(InvalidCellError, match="no output edge"):
        _model(space).log_likelihood([Graph((3, 4), frozenset({(0, 1), (0, 2), (1, 3)}))])
    with pytest.raises(InvalidCellError, match="fixed"):
        _model(nb201_space()).log_likelihood([Graph((0,), frozenset({(0, 1), (1, 2)}))])


def test_gradient_of_log_likelihood_raises_the_probability_of_a_graph():
    space = graphnet_space()
    model = _model(space)
    graphs, _ = model.sample(1, torch.Generator().manual_seed(5))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    before = float(model.log_likelihood(graphs)[0].detach())
    (-model.log_likelihood(graphs).sum()).backward()
    opt.step()
    assert float(model.log_likelihood(graphs)[0].detach()) > before
    assert math.isfinite(before)


@pytest.mark.parametrize("reward, direction", [(1.0, 1), (-1.0, -1)])
def test_reweighted_loss_raises_positives_and_lowers_negatives(reward, direction):
    from nasgen.graphpnas.loss import reweighted_loss

    space = nb201_space()
    model = _model(space)
    graphs, _ = model.sample(1, torch.Generator().manual_seed(7))
    opt = torch.optim.SGD(model.parameters(), lr=0.5 if reward > 0 else 50.0)  # log(1-P) ~ -P: tiny gradients
    before = float(model.log_likelihood(graphs)[0].detach())
    reweighted_loss(model.log_likelihood(graphs), torch.tensor([reward]), beta=0.05).backward()
    opt.step()
    after = float(model.log_likelihood(graphs)[0].detach())
    assert direction * (after - before) > 0


def test_standardised_rewards_use_the_buffer_mean_and_std():
    from nasgen.graphpnas.loss import standardised

    buf = torch.tensor([1.0, 2.0, 3.0])
    np.testing.assert_allclose(standardised(torch.tensor([2.0, 4.0]), buf).numpy(), [0.0, 2 / np.std([1, 2, 3])])
    assert float(standardised(torch.tensor([5.0]), torch.tensor([5.0, 5.0]))[0]) == 0.0


def test_epsilon_schedule_random_first_then_annealed():
    from nasgen.graphpnas.search import epsilon

    nb201 = GraphPNASConfig()  # Appendix A: the random explorer for the first 10 steps, then the generator only
    assert [epsilon(s, nb201) for s in (0, 9, 10, 100)] == [1.0, 1.0, 0.0, 0.0]
    randwire = GraphPNASConfig(random_steps=0, epsilon0=0.6, epsilon_decay=0.2, epsilon_every=10)
    assert [epsilon(s, randwire) for s in (0, 9, 10, 25)] == pytest.approx([0.6, 0.6, 0.12, 0.024])


def test_replay_buffer_keeps_the_top_rewards():
    from nasgen.graphpnas.search import ReplayBuffer

    buf = ReplayBuffer(3)
    graphs = [Graph((i,), frozenset({(0, 1), (1, 2)})) for i in range(5)]
    for g, r in zip(graphs, (0.5, 0.9, 0.1, 0.7, 0.9)):
        buf.add(g, r)
    assert [(g.ops[0], r) for g, r in buf.items] == [(1, 0.9), (4, 0.9), (3, 0.7)]


def test_graphpnas_on_nb201_spends_its_budget_on_distinct_architectures():
    from nasgen.nb201.data import accuracy_table
    from nasgen.nb201.oracle import Oracle
    from nasgen.nb201.space import NB201Space
    from nasgen.search.config import LatentSearchConfig
    from nasgen.search.strategies import run

    cfg = bench_profile("tiny").nb201_search
    oracle = Oracle.from_table(accuracy_table()["valid_top1"].to_numpy(), cfg.queries)
    run("graphpnas", NB201Space(), oracle, np.random.default_rng(0), cfg.strategies(LatentSearchConfig()))
    best, value = oracle.best()
    assert oracle.queries == cfg.queries
    assert len({i for i, _ in oracle.history}) == cfg.queries  # duplicates are redrawn
    assert value == max(v for _, v in oracle.history)


# --- the random explorer, the shrinking buffer, GraphNet cells ---------------------------------------------
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), explorer=st.sampled_from(["er", "ws"]))
def test_explorer_draws_only_valid_graphnet_cells(seed, explorer):
    from nasgen.graphpnas.explorer import prior
    from nasgen.space.cell import Cell

    g = prior(graphnet_space(), GraphPNASConfig(explorer=explorer))(np.random.default_rng(seed))
    cell = to_cell(g)  # Cell validates strictly: every op on an input -> output path
    assert isinstance(cell, Cell) and 1 <= len(cell.ops) <= 6


def test_watts_strogatz_is_the_ring_lattice_at_p0_and_keeps_its_edge_count():
    from nasgen.graphpnas.explorer import watts_strogatz

    rng = np.random.default_rng(0)
    ring = watts_strogatz(6, 4, 0.0, rng)
    assert ring == {tuple(sorted((i, (i + s) % 6))) for i in range(6) for s in (1, 2)} and len(ring) == 12
    for p in (0.3, 1.0):
        for _ in range(20):
            assert len(watts_strogatz(6, 4, p, rng)) == 12  # rewiring moves edges, never adds or drops one
    assert watts_strogatz(3, 6, 0.0, rng) == {(0, 1), (0, 2), (1, 2)}  # degree clipped to k - 1


def test_erdos_renyi_wires_parallel_ops_at_p0_and_a_chain_closure_at_p1():
    from nasgen.graphpnas.explorer import erdos_renyi, wire

    rng = np.random.default_rng(0)
    assert wire(3, erdos_renyi(3, 0.0, rng)) == {(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4)}
    assert wire(3, erdos_renyi(3, 1.0, rng)) == {(0, 1), (1, 2), (1, 3), (2, 3), (3, 4)}


def test_explorer_refuses_a_fixed_space_and_a_uniform_prior():
    from nasgen.errors import ConfigError
    from nasgen.graphpnas.explorer import prior

    with pytest.raises(ConfigError, match="fixed topology"):
        prior(nb201_space(), GraphPNASConfig(explorer="ws"))
    with pytest.raises(ConfigError, match="random-graph prior"):
        prior(graphnet_space(), GraphPNASConfig())
    with pytest.raises(ValueError, match="even degrees"):
        GraphPNASConfig(ws_k=(3, 6))


def test_buffer_share_shrinks_from_30_to_10_percent_of_the_evaluated():
    from nasgen.graphpnas.search import ReplayBuffer, buffer_keep

    cfg = GraphPNASConfig(buffer_share=(0.3, 0.1))
    assert [buffer_keep(n, 100, cfg) for n in (4, 50, 100, 120)] == [2, 10, 10, 12]  # ceil(share * n), >= 2
    assert buffer_keep(50, None, cfg) == cfg.buffer_keep == buffer_keep(50, 100, GraphPNASConfig())
    buf = ReplayBuffer(1)
    for i, r in enumerate((0.2, 0.9, 0.5)):
        buf.add(Graph((i,), frozenset({(0, 1), (1, 2)})), r)
    assert [r for _, r in buf.items] == [0.9]
    buf.keep = 3  # a share of a growing count takes back what a smaller keep left out
    assert [r for _, r in buf.items] == [0.9, 0.5, 0.2]


def test_graphpnas_on_graphnet_cells_spends_its_evaluations_on_distinct_cells_within_budget():
    from nasgen.config import get_profile
    from nasgen.graphpnas.cells import sample_cells
    from nasgen.search.graphpnas import sample_stats, search_cells
    from nasgen.search.objective import ZCObjective

    cfg = get_profile("tiny").graphpnas
    run = search_cells(cfg, ZCObjective(cfg.zc, objective=cfg.objective), seed=0)
    hist = run.result.history
    assert run.result.evaluations == cfg.evaluations == len(hist)
    assert len({tuple(r["cells"]) for r in hist}) == len(hist)  # duplicates are redrawn
    assert all(r["params"] <= cfg.max_params for r in hist)
    assert len(run.buffer) == len(run.buffer.items) >= 2
    stats = sample_stats(sample_cells(run.model, 30, 0), cfg, lambda cs: np.zeros(len(cs), dtype=int))
    assert stats["validity"] == 1.0 and stats["families"] == 1 and 1 <= stats["distinct_cells"] <= 30


def test_graphpnas_refuses_over_budget_cells_without_spending_an_evaluation():
    from nasgen.config import get_profile
    from nasgen.search.graphpnas import search_cells
    from nasgen.search.objective import ZCObjective

    cfg = get_profile("tiny").graphpnas.model_copy(update={"max_params": 1, "max_refused": 5})
    ev = ZCObjective(cfg.zc, objective=cfg.objective)
    run = search_cells(cfg, ev, seed=0)
    assert run.refused == 5 and ev.evaluations == 0 and not run.result.history


def test_stage_graphpnas_commits_a_generator_that_hl_evo_draws_its_cells_from(tiny_models):
    from nasgen.config import get_profile
    from nasgen.errors import ConfigError
    from nasgen.graphpnas.graphs import from_cell
    from nasgen.space.cell import Cell
    from nasgen.stages import graphpnas, hl_evo
    from nasgen.stages.registry import run

    store, _, cref = tiny_models
    prof = get_profile("tiny")
    ref = run("graphpnas", store, cfg=prof.graphpnas)
    assert run("graphpnas", store, cfg=prof.graphpnas) == ref  # cached
    stats = graphpnas.stats(ref)
    assert stats["evaluations"] == prof.graphpnas.evaluations and stats["samples"]["validity"] == 1.0
    buffer = store.read_json(ref, "buffer.json")
    assert [b["reward"] for b in buffer] == sorted((b["reward"] for b in buffer), reverse=True)
    model = graphpnas.load_generator(ref)  # safetensors weights back into a generator of the stored config
    lp = model.log_likelihood([from_cell(Cell.from_json(b["cell"])) for b in buffer])
    assert torch.isfinite(lp).all() and (lp < 0).all()

    cfg = prof.hl_evo.model_copy(update={"cell_source": "graphpnas"})
    level = cfg.levels[0]
    with pytest.raises(ConfigError, match="cell_source=graphpnas needs a graphpnas artifact"):
        run("hl_evo", store, ccnf_ref=cref, cfg=cfg, level=level)
    with pytest.raises(ConfigError, match="cell_source=ccnf reads no graphpnas artifact"):
        run("hl_evo", store, ccnf_ref=cref, cfg=prof.hl_evo, level=level, graphpnas_ref=ref)
    h = run("hl_evo", store, ccnf_ref=cref, cfg=cfg, level=level, graphpnas_ref=ref)
    assert hl_evo.stats(h)["cell_source"] == "graphpnas" and h.key != hl_evo.key(cref, prof.hl_evo, level)
    assert ref.key in [u["key"] for u in store.manifest(h.stage, h.key)["upstream_refs"]]
    # GenCell ignores the family and draws the generator: same rng state, same cell
    gen_cell = graphpnas.cell_source(model)
    assert gen_cell(0, np.random.default_rng(3)) == gen_cell(1, np.random.default_rng(3))
