"""Hand-designed reference networks: their sizes against the published ones, and the width that fits a budget."""

from __future__ import annotations

import pytest
import torch

from nasgen.errors import ConfigError
from nasgen.space.cost import macro_cost
from nasgen.train.checkpoint import checkpoint_bytes, load_checkpoint
from nasgen.train.references import (
    REFERENCES,
    WIDTHS,
    PlainNet,
    TwoConv,
    build,
    fit_budget,
    mobilenetv2,
    resnet20,
    spec_from_dict,
)

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
    make, cost_of = REFERENCES[name]
    for w in (w for w in WIDTHS if w > width):  # no wider width fits
        c = cost_of(make(w, (1, 28, 28), 10))
        assert c.params > budget[0] or c.flops > budget[1]
    module = build(net)
    assert sum(p.numel() for p in module.parameters()) == cost.params
    assert module(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_mobilenetv2_stages_and_errors():
    m = mobilenetv2()
    assert [layer.channels for layer in m.layers] == [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160]
    with pytest.raises(ConfigError, match="no width of resnet20 fits"):
        fit_budget("resnet20", 1_000, None)
    with pytest.raises(ConfigError, match="unknown reference network"):
        fit_budget("vgg", None, None)


def test_a_plain_reference_is_a_spec_the_trained_stage_keys_builds_and_checkpoints():
    spec = PlainNet("two_conv", 0.5)
    assert spec_from_dict(spec.to_dict()) == spec and spec_from_dict(resnet20().to_dict()) == resnet20()
    assert spec.arch_id == PlainNet("two_conv", 0.5).arch_id != PlainNet("two_conv", 1.0).arch_id
    assert spec.cost() == TwoConv(0.5).cost()
    net = build(spec)
    torch.nn.init.normal_(net.classifier.weight)
    loaded, stored = load_checkpoint(checkpoint_bytes(net, spec))
    assert stored == spec and torch.equal(loaded.classifier.weight, net.classifier.weight)
    with pytest.raises(ConfigError, match="unknown plain reference network 'vgg'"):
        PlainNet("vgg", 1.0)


def test_the_trained_key_of_a_macro_is_unchanged_by_plain_references():
    """Keys of stored `trained` artifacts: a MacroArch's config is what it was before PlainNet existed."""
    from nasgen.stages.trained import _config
    from nasgen.train.config import RECIPES, DatasetConfig

    m = resnet20(0.5, (1, 28, 28), 10)
    cfg = _config(m, DatasetConfig(name="fashion_mnist"), RECIPES["fashion_mnist"])
    assert (
        cfg["arch_id"] == m.arch_id
        and cfg["macro"] == m.to_dict()
        and set(cfg) == {"arch_id", "macro", "dataset", "recipe"}
    )
