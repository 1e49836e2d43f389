"""The torch builder runs every op forward and backward, and the analytic cost equals the hook count."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.space.cell import Cell
from nasgen.space.cost import cell_cost, count_module, counted_macro_cost, macro_cost
from nasgen.space.macro import CHANNELS, Layer, MacroArch, reference_macro
from nasgen.space.network import CellModule, build_network
from nasgen.space.ops import OPS, build_op, op_by_name
from nasgen.space.sampling import random_macro
from tests.conftest import cells


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
def test_every_op_keeps_shape_and_backpropagates(op):
    torch.manual_seed(0)
    module = build_op(op.index, 8)
    x = torch.randn(2, 8, 7, 9, requires_grad=True)
    y = module(x)
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
@pytest.mark.parametrize("channels", [8, 24, 72, 1024])
def test_op_cost_equals_hook_count(op, channels):
    cell = Cell((op.index,), ((0, 1), (1, 2)))
    with torch.device("meta"):
        module = CellModule(cell, channels)
    assert count_module(module, (channels, 5, 6)) == cell_cost(cell, channels, 5, 6)


def test_cell_semantics_sum_inputs():
    # input -> skip -> output and input -> output: output = 2x
    cell = Cell((0,), ((0, 1), (0, 2), (1, 2)))
    x = torch.randn(1, 8, 4, 4)
    assert torch.allclose(CellModule(cell, 8)(x), 2 * x)


def _random_spec(rng, channels=None):
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 33)), int(rng.integers(1, 33)))
    return random_macro(rng, channels=channels, input_shape=shape, classes=int(rng.integers(1, 200)))


def test_200_random_macros_cost_equals_count():
    """Counted on CPU (a real forward) at widths up to 64, where it is fast."""
    torch.manual_seed(0)
    rng = np.random.default_rng(7)
    for _ in range(200):
        m = _random_spec(rng, channels=(8, 16, 24, 32, 40, 48, 56, 64))
        assert macro_cost(m) == counted_macro_cost(m, "cpu"), m.to_dict(cell_ids=True)


def test_wide_random_macros_cost_equals_count_on_meta():
    """The full channel range 8..1024, counted on the meta device (shapes only)."""
    rng = np.random.default_rng(11)
    for _ in range(10):
        m = _random_spec(rng)
        assert macro_cost(m) == counted_macro_cost(m), m.to_dict(cell_ids=True)


def test_random_macros_forward_backward_on_cpu():
    rng = np.random.default_rng(3)
    for _ in range(5):
        m = random_macro(rng, max_layers=6, channels=(8, 16, 24), input_shape=(3, 16, 16), classes=7)
        net = build_network(m)
        x = torch.randn(2, 3, 16, 16)
        out = net(x)
        assert out.shape == (2, 7)
        out.sum().backward()
        assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
        assert count_module(net, (3, 16, 16)) == macro_cost(m)  # real (non-meta) count too


def test_reference_macro_known_cost():
    # alpha_x of a single conv_3 cell, by hand: stem 3*16*9 + 32; 17 cells conv_3; projections at 6 and 12; head.
    cell = Cell((op_by_name("conv_3").index,), ((0, 1), (1, 2)))
    m = reference_macro(cell)
    conv = {c: 9 * c * c + 2 * c for c in (16, 32, 64)}
    params = (
        (3 * 16 * 9 + 32) + 6 * conv[16] + (16 * 32 + 64) + 6 * conv[32] + (32 * 64 + 128) + 5 * conv[64] + 64 * 10 + 10
    )
    flops = (
        3 * 16 * 9 * 1024
        + 6 * 9 * 16 * 16 * 1024
        + 16 * 32 * 256
        + 6 * 9 * 32 * 32 * 256
        + 32 * 64 * 64
        + 5 * 9 * 64 * 64 * 64
        + 640
    )
    assert macro_cost(m).params == params and macro_cost(m).flops == flops


def test_stride_two_projection_even_without_channel_change():
    cell = Cell((0,), ((0, 1), (1, 2)))
    m = MacroArch((Layer(cell, 16, 1), Layer(cell, 16, 2)), (3, 9, 9), 3)
    net = build_network(m)
    assert len([x for x in net.modules() if isinstance(x, torch.nn.Conv2d)]) == 2  # stem + projection
    assert net.cells(net.stem(torch.zeros(1, 3, 9, 9))).shape[-1] == 5


@settings(max_examples=40)
@given(cells(), st.sampled_from(CHANNELS), st.integers(1, 40), st.integers(1, 40))
def test_cell_cost_equals_count_property(cell, channels, h, w):
    with torch.device("meta"):
        module = CellModule(cell, channels)
    assert count_module(module, (channels, h, w)) == cell_cost(cell, channels, h, w)


def test_counting_leaves_the_module_mode_unchanged():
    net = build_network(reference_macro(Cell((0,), ((0, 1), (1, 2)))))
    count_module(net.train(), (3, 32, 32))
    assert net.training and all(m.training for m in net.modules())
