"""NAS-Bench-201 strings -> GraphNet cells."""

import pytest

from nasgen.errors import InvalidCellError
from nasgen.space.cell import Cell
from nasgen.space.nb201 import BEST_CIFAR10, nb201_cell


def test_best_cifar10_cell_has_one_op_node_per_edge_wired_like_the_nb201_dag():
    cell = nb201_cell(BEST_CIFAR10)
    # A = conv(0->1), B = conv(0->2), C = conv(1->2), D = skip(0->3), E = conv(1->3), F = conv(2->3)
    expected = Cell.from_graph(
        ["input", "conv_3", "conv_3", "conv_3", "skip", "conv_3", "conv_3", "output"],
        [(0, 1), (0, 2), (1, 3), (0, 4), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7)],
    )
    assert cell.is_isomorphic(expected) and cell.n_ops == 6


def test_none_edges_are_dropped_and_dead_branches_removed():
    cell = nb201_cell("|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
    assert sorted(cell.node_names[1:-1]) == ["avg_pool_3", "conv_1", "skip"]
    # node 1 has no input (its conv edge 1->3 is dead); node 2 has no way out (its skip 0->2 is dead)
    cell = nb201_cell("|none~0|+|skip_connect~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    assert cell.node_names == ["input", "skip", "output"]


@pytest.mark.parametrize(
    "arch, message",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 computed nodes"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB-201 operation"),
        ("|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "bad NB-201 edge"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "only 'none' edges"),
    ],
)
def test_malformed_strings_are_rejected_with_the_reason(arch, message):
    with pytest.raises(InvalidCellError, match=message):
        nb201_cell(arch)
