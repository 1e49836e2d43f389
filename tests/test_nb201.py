"""NAS-Bench-201 strings -> GraphNet cells."""

import pytest

from nasgen.errors import InvalidCellError
from nasgen.nb201.cell import BEST_CIFAR10, nb201_cell
from nasgen.space.cell import Cell


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


# --- the NB-201 space, network and vendored ground truth -------------------------------------------------

import numpy as np  # noqa: E402
import torch  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nasgen.nb201 import arch as nb  # noqa: E402
from nasgen.nb201.data import accuracy_table, naslib_proxies  # noqa: E402
from nasgen.nb201.network import build_nb201  # noqa: E402


@given(st.integers(0, nb.SPACE_SIZE - 1))
def test_index_string_and_tuple_round_trip(i):
    ops = nb.from_index(i)
    assert nb.to_index(ops) == i and nb.parse(nb.to_string(ops)) == ops


def test_naslib_key_of_the_best_cell_is_the_paper_table_8_cell():
    assert nb.to_string(nb.from_naslib("(2, 2, 0, 2, 2, 2)")) == BEST_CIFAR10
    with pytest.raises(InvalidCellError, match="NASLib"):
        nb.from_naslib("(5, 0, 0, 0, 0, 0)")


def test_partial_or_unknown_strings_are_refused():
    with pytest.raises(InvalidCellError, match="does not name edges"):
        nb.parse("|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|")
    with pytest.raises(InvalidCellError, match="unknown NB-201 operation"):
        nb.parse("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_341_architectures_have_no_input_output_path():
    assert sum(not nb.has_path(a) for a in nb.all_archs()) == 341
    assert nb.has_path(nb.parse(BEST_CIFAR10))


def test_vendored_table_has_every_architecture_and_the_published_extremes():
    t = accuracy_table()
    assert len(t) == nb.SPACE_SIZE and t.index.is_unique
    assert t.test_top1.max() == pytest.approx(94.37, abs=0.005) and t.valid_top1.max() == pytest.approx(
        91.61, abs=0.005
    )
    assert t.test_top1.median() == pytest.approx(90.73, abs=0.01)
    nl = naslib_proxies()
    assert len(nl) == 491 and nl.index.isin(t.index).all()


@pytest.mark.parametrize("i", [0, 777, 5000, 11663, 15624])
def test_network_params_equal_the_nb201_table(i):
    net = build_nb201(nb.from_index(i))
    assert sum(p.numel() for p in net.parameters()) == round(accuracy_table().params_m[i] * 1e6)


def test_network_runs_and_a_pathless_cell_outputs_a_constant():
    x = torch.randn(4, 3, 16, 16)
    net = build_nb201(nb.parse(BEST_CIFAR10)).eval()
    assert net(x).shape == (4, 10) and net.features(x).shape == (4, 64, 4, 4)
    dead = build_nb201(nb.from_index(0)).eval()  # every edge none
    out = dead(x)
    assert torch.allclose(out, out[:1].expand_as(out))


def test_sampled_string_conversion_matches_the_table_strings():
    t = accuracy_table()
    rng = np.random.default_rng(0)
    for i in rng.choice(nb.SPACE_SIZE, 20, replace=False):
        assert nb.to_index(nb.parse(t.arch[i])) == i


def test_every_architecture_with_a_path_is_found_again_from_its_cell():
    """The lookup a generator's NB-201 samples go through: each of the 15,284 is under its own cell's id;
    measured 2026-12-02: 8,764 distinct GraphNet cells (architectures computing the same graph share one)."""
    from nasgen.nb201.cell import cell_index, nb201_indices

    index = cell_index()
    found = sorted(i for group in index.values() for i in group)
    assert found == [i for i in range(nb.SPACE_SIZE) if nb.has_path(nb.from_index(i))] and len(found) == 15_284
    assert len(index) == 8_764
    best = nb.to_index(nb.parse(BEST_CIFAR10))
    assert best in nb201_indices(nb201_cell(BEST_CIFAR10))
    # one cell, several architectures: isomorphic graphs, or edges off every input -> output path (dead)
    assert max(len(g) for g in index.values()) > 1
    outside = Cell.from_json('{"nodes": ["input", "mbconv_e6_5", "output"], "edges": [[0,1],[1,2]]}')
    assert nb201_indices(outside) == ()
