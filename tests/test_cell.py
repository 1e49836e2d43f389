import json

import numpy as np
import pytest
import torch
from hypothesis import given

from nasgen.errors import InvalidCellError
from nasgen.space.cell import FEATURE_DIM, MAX_NODES, Cell
from nasgen.space.ops import NUM_OPS, OPS, TYPES
from tests.conftest import cells

EXAMPLE = {
    "nodes": ["input", "conv_3", "mbconv_e6_5", "skip", "output"],
    "edges": [[0, 1], [1, 2], [2, 3], [0, 3], [3, 4]],
}


def test_there_are_28_operations_with_unique_names():
    assert NUM_OPS == 28 == len({op.name for op in OPS})
    assert sum(op.kernel is None for op in OPS) == 1
    assert {op.type for op in OPS} == set(TYPES)


def test_example_json_parses_and_round_trips():
    c = Cell.from_dict(EXAMPLE)
    assert c.node_names == EXAMPLE["nodes"]
    assert Cell.from_json(c.to_json()) == c
    assert sorted(map(tuple, EXAMPLE["edges"])) == list(c.edges)


@given(cells())
def test_json_round_trip(cell):
    assert Cell.from_json(cell.to_json()) == cell
    assert Cell.from_json(json.dumps(cell.to_dict())).cell_id == cell.cell_id


@given(cells())
def test_matrices_follow_design(cell):
    a, f, m = cell.adjacency(), cell.features(), cell.node_mask()
    assert a.shape == (MAX_NODES, MAX_NODES) and f.shape == (MAX_NODES, FEATURE_DIM)
    assert not np.tril(a).any()  # strictly upper triangular
    assert m.sum() == cell.n_nodes and not a[~m].any() and not a[:, ~m].any() and not f[~m].any()
    assert f[0, 0] == 1 and f[cell.n_nodes - 1, 1] == 1
    type_onehot, kernel_onehot = f[:, 2:12], f[:, 12:]
    for p, o in enumerate(cell.ops, start=1):
        assert type_onehot[p].sum() == 1 and TYPES[type_onehot[p].argmax()] == OPS[o].type
        assert kernel_onehot[p].sum() == (0 if OPS[o].kernel is None else 1)
    t = cell.to_tensors()
    assert t["A"].dtype == torch.float32 and torch.equal(t["A"], torch.from_numpy(a.astype(np.float32)))


def test_graph_in_any_node_order_is_sorted_topologically():
    # node 1 consumes node 2: not topological as given
    c = Cell.from_graph(["input", "conv_3", "skip", "output"], [[0, 2], [2, 1], [1, 3]])
    assert c.node_names == ["input", "skip", "conv_3", "output"]
    assert c.edges == ((0, 1), (1, 2), (2, 3))


def test_normalisation_removes_dead_nodes():
    nodes = ["input", "conv_3", "sep_conv_5", "avg_pool_3", "output"]
    edges = [[0, 1], [1, 4], [0, 2], [2, 3]]  # 2 -> 3 never reaches the output
    with pytest.raises(InvalidCellError, match=r"node 2 \(sep_conv_5\) does not reach the output"):
        Cell.from_graph(nodes, edges)
    c = Cell.from_graph(nodes, edges, normalise=True)
    assert c.node_names == ["input", "conv_3", "output"] and c.edges == ((0, 1), (1, 2))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"nodes": ["input", "output"], "edges": [[0, 1]]}, "at least 3 nodes"),
        ({"nodes": ["conv_3", "skip", "output"], "edges": []}, 'node 0 must be "input"'),
        ({"nodes": ["input", "skip", "conv_3"], "edges": []}, 'last node must be "output"'),
        ({"nodes": ["input", "conv_7", "output"], "edges": [[0, 1], [1, 2]]}, "unknown operation 'conv_7'"),
        ({"nodes": ["input", "input", "output"], "edges": []}, '"input" may only appear'),
        ({"nodes": ["input", "skip", "output"], "edges": [[0, 1], [1, 5]]}, r"edge \(1, 5\) refers to a node outside"),
        ({"nodes": ["input", "skip", "output"], "edges": [[0, 1], [1, 1], [1, 2]]}, "self-loop"),
        ({"nodes": ["input", "skip", "output"], "edges": [[0, 1], [0, 1], [1, 2]]}, "appears twice"),
        ({"nodes": ["input", "skip", "output"], "edges": [[1, 0], [1, 2]]}, "enters the input"),
        ({"nodes": ["input", "skip", "output"], "edges": [[0, 1], [2, 1]]}, "leaves the output"),
        ({"nodes": ["input", "skip", "conv_3", "output"], "edges": [[0, 1], [1, 2], [2, 1], [2, 3]]}, "cycle"),
        ({"nodes": ["input", "skip", "output"], "edges": [[0, 2]]}, r"node 1 \(skip\) is not reachable"),
        ({"nodes": ["input", *["skip"] * 7, "output"], "edges": [[i, i + 1] for i in range(8)]}, "1..6 operation"),
        ({"nodes": ["input", "skip", "output"], "edges": [[0, "x"]]}, "not a pair of node indices"),
        ({"nodes": ["input", "skip", "output"]}, '"nodes" and "edges"'),
    ],
)
def test_invalid_cells_get_precise_errors(data, message):
    with pytest.raises(InvalidCellError, match=message):
        Cell.from_dict(data)


def test_normalise_cannot_fix_unreachable_output():
    with pytest.raises(InvalidCellError, match="output is not reachable"):
        Cell.from_graph(["input", "skip", "output"], [[0, 1]], normalise=True)


def test_malformed_json_is_an_invalid_cell():
    with pytest.raises(InvalidCellError, match="does not parse"):
        Cell.from_json("{nodes: ")


def test_direct_constructor_validates_stored_form():
    with pytest.raises(InvalidCellError, match="not forward"):
        Cell((2,), ((0, 1), (1, 2), (2, 1)))
    with pytest.raises(InvalidCellError, match="out of range"):
        Cell((28,), ((0, 1), (1, 2)))
