import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasgen.errors import MutationNotApplicable
from nasgen.space.cell import Cell
from nasgen.space.mutations import MUTATIONS, add_node, change_kernel, mutate, remove_node
from tests.conftest import cells


@given(cells(), st.sampled_from(sorted(MUTATIONS)), st.integers(0, 2**32 - 1))
def test_every_mutation_returns_a_valid_different_cell(cell, kind, seed):
    try:
        child = MUTATIONS[kind](cell, np.random.default_rng(seed))
    except MutationNotApplicable:
        return
    Cell(child.ops, child.edges)  # re-validates
    assert child.cell_id != cell.cell_id


@given(cells(), st.integers(0, 2**32 - 1))
def test_mutate_always_succeeds_and_is_deterministic(cell, seed):
    a, kind_a = mutate(cell, np.random.default_rng(seed))
    b, kind_b = mutate(cell, np.random.default_rng(seed))
    assert (a, kind_a) == (b, kind_b) and a.cell_id != cell.cell_id


def test_node_count_mutations_change_op_count():
    c = Cell((3, 4), ((0, 1), (1, 2), (2, 3)))
    rng = np.random.default_rng(0)
    assert add_node(c, rng).n_ops == 3
    assert remove_node(c, rng).n_ops == 1


def test_inapplicable_mutations_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(MutationNotApplicable):
        remove_node(Cell((3,), ((0, 1), (1, 2))), rng)
    with pytest.raises(MutationNotApplicable):
        change_kernel(Cell((0,), ((0, 1), (1, 2))), rng)
    six = Cell(tuple(range(1, 7)), tuple((i, i + 1) for i in range(7)))
    with pytest.raises(MutationNotApplicable):
        add_node(six, rng)
    with pytest.raises(ValueError, match="unknown mutation"):
        mutate(six, rng, kinds=("flip",))
