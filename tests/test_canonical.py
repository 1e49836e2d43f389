"""The canonical form is exact: isomorphic cells share an id, non-isomorphic cells never do."""

import itertools

import networkx as nx
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from nasgen.space import canonical
from nasgen.space.cell import Cell, batch_arrays
from tests.conftest import cells, random_topological_order, relabel


def _nx(cell: Cell) -> nx.DiGraph:
    g = nx.DiGraph()
    for v, name in enumerate(cell.node_names):
        g.add_node(v, label=name)
    g.add_edges_from(cell.edges)
    return g


def _same(a: Cell, b: Cell) -> bool:
    return nx.is_isomorphic(_nx(a), _nx(b), node_match=lambda x, y: x["label"] == y["label"])


@given(cells(n_labels=3), st.integers(0, 2**32 - 1))
def test_isomorphic_relabelings_share_the_id(cell, seed):
    other = relabel(cell, random_topological_order(cell, np.random.default_rng(seed)))
    assert _same(cell, other)
    assert other.cell_id == cell.cell_id


@given(cells(max_ops=4, n_labels=2), cells(max_ops=4, n_labels=2))
def test_ids_agree_with_networkx_isomorphism(a, b):
    assert (a.cell_id == b.cell_id) == _same(a, b)


@given(cells())
def test_canonical_form_decodes_to_an_isomorphic_cell(cell):
    canon = cell.canonical()
    assert _same(cell, canon)
    assert canon.cell_id == cell.cell_id
    assert Cell.from_id(cell.cell_id) == canon


@given(st.lists(cells(n_labels=2), min_size=1, max_size=40))
def test_batch_equals_one_by_one(cell_list):
    codes = canonical.canonical_codes(*batch_arrays(cell_list))
    assert [int(c) for c in codes] == [c.code for c in cell_list]


def test_matches_brute_force_minimum_over_all_orders():
    """Exhaustively on every 3-op DAG with two labels: ids partition cells exactly like brute-force minima."""
    k, n = 3, 5
    iu, ju = canonical.pairs(n)
    mine, brute = {}, {}
    for bits in itertools.product((0, 1), repeat=len(iu)):
        edges = tuple((int(i), int(j)) for i, j, b in zip(iu, ju, bits) if b)
        for labels in itertools.product((0, 1), repeat=k):
            try:
                c = Cell(labels, edges)
            except ValueError:
                continue
            best = min(
                relabel(c, list(p)).adjacency().tobytes() + bytes(relabel(c, list(p)).ops)
                for p in itertools.permutations(range(1, k + 1))
                if _topological(c, p)
            )
            mine.setdefault(c.cell_id, set()).add(best)
            brute.setdefault(best, set()).add(c.cell_id)
    assert all(len(v) == 1 for v in mine.values()) and all(len(v) == 1 for v in brute.values())


def _topological(cell, order):
    pos = {old: new for new, old in enumerate(order, start=1)}
    pos[0], pos[cell.n_nodes - 1] = 0, cell.n_nodes - 1
    return all(pos[i] < pos[j] for i, j in cell.edges)


def test_code_round_trip_and_bad_codes():
    c = Cell((3, 7), ((0, 1), (0, 2), (1, 3), (2, 3)))
    labels, edges = canonical.decode(c.code)
    assert Cell(labels, edges) == c.canonical()
    import pytest

    from nasgen.errors import InvalidCellError

    with pytest.raises(InvalidCellError, match="not a cell id"):
        Cell.from_id("zz")
    with pytest.raises(InvalidCellError, match="not a cell id"):
        Cell.from_id("0")
