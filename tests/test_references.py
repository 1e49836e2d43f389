"""Hand-designed reference networks: their sizes against the published ones, and the width that fits a budget."""

from __future__ import annotations

import pytest
import torch

from nasgen.errors import ConfigError
from nasgen.space.cost import macro_cost
from nasgen.space.network import build_network
from nasgen.train.references import REFERENCES, WIDTHS, TwoConv, fit_budget, mobilenetv2, resnet20

B1, B2 = (100_000, 15_000_000), (500_000, 60_000_000)  # the real-task budgets: params, MACs


def test_two_conv_is_zalandos_entry_under_100k_parameters():
    net = TwoConv()
    # conv 5x5 1->32, conv 5x5 32->64, linear 64*7*7 -> 10 (hardmaru's notebook)
    assert net.cost().params == sum(p.numel() for p in net.parameters()) == 832 + 51_264 + 31_370 < 100_000
    assert net.cost().flops == 28 * 28 * 32 * 25 + 14 * 14 * 64 * 32 * 25 + 64 * 7 * 7 * 10
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_resnet20_is_he_et_als_plus_the_spaces_projection_shortcuts():
    """He et al.'s CIFAR ResNet-20 has 269,722 parameters (0.27M: convs 267,696, BN 1,376, classifier 650). In
    the space a 1x1 projection takes a stage's width and stride change, so that stage's first block has two
    full-width convs: + (32-16)*32*9 + (64-32)*64*9, plus the projections' convs and BN."""
    classic = 432 + 6 * 16 * 16 * 9 + (32 * 16 * 9 + 5 * 32 * 32 * 9) + (64 * 32 * 9 + 5 * 64 * 64 * 9) + 1_376 + 650
    assert classic == 269_722
    extra = 16 * 32 * 9 + 32 * 64 * 9 + (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert macro_cost(resnet20()).params == classic + extra
    assert len(resnet20().layers) == 9


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("budget", [B1, B2])
def test_the_widest_reference_that_fits_the_budget(name, budget):
    net, width, cost = fit_budget(name, *budget)
    assert cost.params <= budget[0] and cost.flops <= budget[1]
    build, cost_of = REFERENCES[name]
    for w in (w for w in WIDTHS if w > width):  # no wider width fits
        c = cost_of(build(w, (1, 28, 28), 10))
        assert c.params > budget[0] or c.flops > budget[1]
    module = net if isinstance(net, torch.nn.Module) else build_network(net)
    assert sum(p.numel() for p in module.parameters()) == cost.params
    assert module(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_mobilenetv2_stages_and_errors():
    m = mobilenetv2()
    assert [layer.channels for layer in m.layers] == [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160]
    with pytest.raises(ConfigError, match="no width of resnet20 fits"):
        fit_budget("resnet20", 1_000, None)
    with pytest.raises(ConfigError, match="unknown reference network"):
        fit_budget("vgg", None, None)
