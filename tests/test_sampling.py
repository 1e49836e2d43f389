import itertools

import networkx as nx
import numpy as np
import pytest

from nasgen.errors import ConfigError
from nasgen.space import canonical
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import count_valid_dags, sample_batch, space_size, unique_codes

CFG = SamplerConfig(batch_size=2048)


def test_sampled_cells_are_valid():
    k, labels, adj = sample_batch(np.random.default_rng(0), 500, CFG)
    for r in range(500):
        n = int(k[r]) + 2
        Cell(tuple(labels[r, : k[r]].tolist()), tuple(zip(*np.nonzero(adj[r, :n, :n]))))
        assert not adj[r, n:].any() and not adj[r, :, n:].any()


def test_unique_stream_is_deterministic_and_unique():
    a, _ = unique_codes(5000, 3, CFG)
    b, _ = unique_codes(5000, 3, CFG)
    c, _ = unique_codes(5000, 4, CFG)
    assert np.array_equal(a, b) and len(np.unique(a)) == 5000 and not np.array_equal(a, c)


@pytest.mark.parametrize("split", [1, 1000, 2047, 2048, 2049, 3999])
def test_resuming_from_a_cursor_reproduces_the_stream(split):
    whole, end = unique_codes(4000, 0, CFG)
    head, cursor = unique_codes(split, 0, CFG)
    tail, end2 = unique_codes(4000 - split, 0, CFG, seen=head, cursor=cursor)
    assert np.array_equal(np.concatenate([head, tail]), whole) and end == end2


def test_exhausted_space_is_reported():
    tiny = SamplerConfig(op_count_weights=(1, 0, 0, 0, 0, 0), batch_size=256, max_batches=20)
    with pytest.raises(ConfigError, match="too small"):
        unique_codes(57, 0, tiny)  # only 56 one-op cells exist
    assert len(unique_codes(56, 0, tiny)[0]) == 56


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_valid_dag_count_matches_enumeration(k):
    n = k + 2
    iu, ju = canonical.pairs(n)
    brute = 0
    for bits in itertools.product((0, 1), repeat=len(iu)):
        a = np.zeros((n, n), bool)
        a[iu, ju] = bits
        g = nx.DiGraph(a)
        alive = nx.descendants(g, 0) & nx.ancestors(g, n - 1)
        brute += alive == set(range(1, n - 1))
    assert count_valid_dags(k) == brute


def test_space_size_exact_small_k_matches_networkx_classes():
    """k = 2 with all 28 labels: count isomorphism classes independently by grouping with networkx."""
    size = space_size(samples=200, exact_up_to=2)
    assert size["per_op_count"][0]["canonical_cells"] == 56  # 28 ops x (with/without input->output edge)
    # independent count for k=2: stored forms / automorphism-free orbits
    n = 4
    forms = []
    for bits in itertools.product((0, 1), repeat=6):
        a = np.zeros((n, n), bool)
        a[np.triu_indices(n, 1)] = bits
        if a[:, 1:3].any(0).all() and a[1:3, :].any(1).all():
            forms.append(a)
    classes = set()
    for a, (l1, l2) in itertools.product(forms, itertools.product(range(28), repeat=2)):
        g = nx.DiGraph(a)
        # canonical by hand: the two op nodes are interchangeable iff there is no edge between them
        if not a[1, 2]:
            swapped = a[[0, 2, 1, 3]][:, [0, 2, 1, 3]]
            key = min((a.tobytes(), l1, l2), (swapped.tobytes(), l2, l1))
        else:
            key = (a.tobytes(), l1, l2)
        classes.add(key)
        assert g.number_of_nodes() == n
    assert size["per_op_count"][1]["canonical_cells"] == len(classes)
    assert size["stored_forms"] > size["canonical_cells"] > 0
