"""Width fitting (nasgen.generate.width): the narrowed network meets the budget, keeps cells, depth and strides,
is the widest uniform scaling that does, and a network already within the budget is left alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.generate.width import scaled, width_factor
from nasgen.search.config import ConstraintConfig
from nasgen.search.objective import satisfies
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.space.macro import CHANNEL_STEP, HLLayer, HLSequence, MacroArch
from tests.conftest import macros

CONV = Cell.from_graph(["input", "conv_3", "output"], [(0, 1), (1, 2)])


def test_scaled_rounds_down_to_the_channel_step_and_keeps_one_step():
    m = MacroArch.from_triples([(CONV, 64, 1), (CONV, 128, 2), (CONV, 24, 1)], (1, 28, 28), 10)
    assert [x.channels for x in scaled(m, 0.5).layers] == [32, 64, 8]
    assert [x.channels for x in scaled(m, 0.3).layers] == [16, 32, 8]  # 19.2 -> 16, 38.4 -> 32, 7.2 -> 8
    assert [x.channels for x in scaled(m, 0.0).layers] == [8, 8, 8]
    assert scaled(m, 1.0) == m
    seq = HLSequence((HLLayer(3, 64, 1), HLLayer(0, 128, 2)), (1, 28, 28), 10)
    assert scaled(seq, 0.5) == HLSequence((HLLayer(3, 32, 1), HLLayer(0, 64, 2)), (1, 28, 28), 10)


def test_a_single_conv_layer_meets_a_params_budget_at_the_analytic_width():
    """One 3x3 conv position: its params grow with c^2, so a quarter of the params is about half the width."""
    m = MacroArch.from_triples([(CONV, 256, 1)], (1, 28, 28), 10)
    p = macro_cost(m).params
    f = width_factor(m, ConstraintConfig(max_params=p // 4))
    narrow = scaled(m, f)
    assert macro_cost(narrow).params <= p // 4 < macro_cost(scaled(m, f + 1e-6)).params
    assert 112 <= narrow.layers[0].channels <= 128


@settings(max_examples=60, deadline=None)
@given(macros(max_layers=6, square=True), st.floats(0.01, 1.0), st.booleans())
def test_the_fitted_network_is_the_widest_uniform_scaling_within_the_budget(m, share, flops):
    cost = macro_cost(m)
    budget = (ConstraintConfig(max_flops=max(1, int(cost.flops * share))) if flops
              else ConstraintConfig(max_params=max(1, int(cost.params * share))))  # fmt: skip
    f = width_factor(m, budget)
    if f is None:  # not even every position at one channel step fits
        assert not satisfies(macro_cost(scaled(m, 0.0)), budget)
        return
    narrow = scaled(m, f)
    assert satisfies(macro_cost(narrow), budget)
    assert f == 1.0 or not satisfies(macro_cost(scaled(m, f + 1e-6)), budget)  # the widest that fits
    assert [(x.cell, x.stride) for x in narrow.layers] == [(x.cell, x.stride) for x in m.layers]
    assert all(x.channels % CHANNEL_STEP == 0 and CHANNEL_STEP <= x.channels <= y.channels
               for x, y in zip(narrow.layers, m.layers))  # fmt: skip
    if share == 1.0:
        assert f == 1.0 and narrow == m


def test_a_network_within_the_budget_is_untouched():
    m = MacroArch.from_triples([(CONV, 32, 1), (CONV, 64, 2)], (1, 28, 28), 10)
    assert width_factor(m, ConstraintConfig(max_params=macro_cost(m).params)) == 1.0
    assert width_factor(m, ConstraintConfig(max_params=1)) is None


@pytest.mark.parametrize("share", [0.9, 0.5, 0.1])
def test_params_and_flops_together(share):
    m = MacroArch.from_triples([(CONV, 96, 1), (CONV, 192, 2), (CONV, 192, 1)], (1, 28, 28), 10)
    c = macro_cost(m)
    budget = ConstraintConfig(max_params=int(c.params * share), max_flops=int(c.flops * share))
    narrow = scaled(m, width_factor(m, budget))
    assert satisfies(macro_cost(narrow), budget)
