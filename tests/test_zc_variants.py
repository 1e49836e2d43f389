"""Named SNIP-SSNR forms and T-CET variants, the singular-Gram policies, Zen's BN term and real-data batches,
each against hand-computed values or closed forms."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nasgen.errors import ConfigError
from nasgen.space.cell import Cell
from nasgen.stages.zc import key as scores_key
from nasgen.store import Ref
from nasgen.zc import Scorer, make_batch, seeded_network, zc_record
from nasgen.zc.common import ZCBatch, gram_logdet
from nasgen.zc.config import ALL_PROXIES, SNIP_SSNR_FORMS, TCET_VARIANTS, ScoreCellsConfig, ZCConfig
from nasgen.zc.variants import layer_mode, snip_ssnr_form, split_tcet, tcet_value
from nasgen.zc.zen import zen

CELL = Cell.from_dict({"nodes": ["input", "conv_3", "sep_conv_3", "output"], "edges": [[0, 1], [1, 2], [0, 2], [2, 3]]})
CFG = ZCConfig(batch_size=8, resolution=8, proxies=ALL_PROXIES)

A, B = nn.Linear(2, 2), nn.Linear(3, 1)
SAL = {A: torch.tensor([1.0, 2.0, 3.0, 4.0]), B: torch.tensor([2.0, 2.0, 5.0])}
LNWOT = {A: 10.0, B: 2.0}


def _ssnrs():
    return [10 / np.std([1, 2, 3, 4], ddof=1), 9 / np.std([2, 2, 5], ddof=1)]


def test_snip_ssnr_forms_by_hand():
    v = _ssnrs()
    assert snip_ssnr_form("snip_ssnr_sum", SAL) == pytest.approx(v[0] + v[1])
    assert snip_ssnr_form("snip_ssnr_mean", SAL) == pytest.approx(v[0] / 4 + v[1] / 3)
    assert snip_ssnr_form("snip_ssnr_norm", SAL) == pytest.approx((v[0] + v[1]) / np.std(v))  # population std
    with pytest.raises(ValueError, match="unknown SNIP-SSNR form"):
        snip_ssnr_form("snip_ssnr_max", SAL)


def test_tcet_modes_by_hand():
    v = _ssnrs()
    assert tcet_value("none", LNWOT, SAL) == pytest.approx(10 * v[0] + 2 * v[1])
    assert tcet_value("log", LNWOT, SAL) == pytest.approx(10 * math.log(v[0]) + 2 * math.log(v[1]))
    assert tcet_value("log1p", LNWOT, SAL) == pytest.approx(10 * math.log1p(v[0]) + 2 * math.log1p(v[1]))
    sd = np.std(v)
    assert tcet_value("norm", LNWOT, SAL) == pytest.approx(10 * v[0] / sd + 2 * v[1] / sd)


def test_modes_follow_alethiometer_at_the_edges():
    assert layer_mode("log", [0.0, -1.0, math.e]) == [0.0, 0.0, pytest.approx(1.0)]
    assert layer_mode("log1p", [-1.0, -2.0, 0.0]) == [0.0, 0.0, 0.0]
    assert layer_mode("norm", [3.0, 3.0]) == [3.0, 3.0]  # zero spread: unchanged
    with pytest.raises(ValueError, match="unknown T-CET mode"):
        layer_mode("sqrt", [1.0])


@given(st.lists(st.floats(0.01, 1e6), min_size=1, max_size=8), st.floats(0.1, 100))
def test_norm_modes_are_scale_free(values, scale):
    base = layer_mode("norm", values)
    scaled = layer_mode("norm", [scale * v for v in values])
    if np.std(values) > 1e-9 * max(values):
        assert scaled == pytest.approx(base, rel=1e-6)


def test_variant_names_split_and_are_all_registered():
    assert split_tcet("tcet_snip_log1p") == ("snip", "log1p")
    assert len(TCET_VARIANTS) == 8 and set(TCET_VARIANTS) | set(SNIP_SSNR_FORMS) <= set(ALL_PROXIES)
    with pytest.raises(ValueError):
        split_tcet("tcet_grad_none")


@pytest.fixture(scope="module")
def record():
    net = seeded_network(Scorer(CFG).macro_for(CELL), seed=3)
    return zc_record(net, make_batch(CFG), CFG)


def test_roles_hold_the_variant_the_config_names(record):
    assert record["tcet"] == record[CFG.tcet] and record["snip_ssnr"] == record[CFG.snip_ssnr]
    other = CFG.model_copy(update={"tcet": "tcet_snip_log1p", "snip_ssnr": "snip_ssnr_sum"})
    rec = zc_record(seeded_network(Scorer(other).macro_for(CELL), seed=3), make_batch(other), other,
                    proxies=("snip_ssnr", "tcet"))  # fmt: skip
    assert rec == {
        "snip_ssnr": pytest.approx(record["snip_ssnr_sum"]),
        "tcet": pytest.approx(record["tcet_snip_log1p"]),
    }


def test_sum_form_is_n_times_the_mean_form_per_layer(record):
    # every layer's sum(s)/std = n * mean/std, so the sum form is dominated by the widest layers
    assert record["snip_ssnr_sum"] > 100 * record["snip_ssnr_mean"]


def test_a_changed_definition_changes_the_store_key():
    cells = Ref(stage="cells", key="k", uri="memory://cells/k", rows=10)
    keys = {scores_key(cells, ScoreCellsConfig(zc=CFG.model_copy(update=u))) for u in
            ({}, {"tcet": "tcet_snip_log1p"}, {"snip_ssnr": "snip_ssnr_norm"}, {"gram_singular": "slogdet"},
             {"zen_bn": "batch_var"}, {"data": "digits"})}  # fmt: skip
    assert len(keys) == 6


def test_gram_policies_on_singular_and_nonsingular_matrices():
    singular = torch.tensor([[3.0, 3.0, 1.0], [3.0, 3.0, 1.0], [1.0, 1.0, 3.0]], dtype=torch.float64)
    assert gram_logdet(singular, "rank").item() == 0.0
    assert gram_logdet(singular, "slogdet").item() == 0.0  # exactly singular: slogdet's sign is 0
    k = torch.tensor([[4.0, 2.0, 1.0], [2.0, 4.0, 1.0], [1.0, 1.0, 4.0]], dtype=torch.float64)
    for policy in ("rank", "slogdet"):
        assert gram_logdet(k, policy).item() == pytest.approx(math.log(44), rel=1e-12)
    # det 1 with a smallest eigenvalue far below the rank tolerance: only slogdet sees it is non-singular
    q = torch.tensor([[1.0, 1e4], [0.0, 1.0]], dtype=torch.float64)
    near = q.T @ q  # integer entries, det 1
    assert gram_logdet(near, "rank").item() == 0.0
    assert abs(gram_logdet(near, "slogdet").item()) < 1e-3
    with pytest.raises(ValueError, match="singular-Gram policy"):
        gram_logdet(k, "pinv")


class _OneBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(2)

    def features(self, x):
        return self.bn(self.conv(x))

    def forward(self, x):
        return self.features(x).mean((2, 3))


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 1000))
def test_zen_running_var_is_the_reference_momentum_average(seed):
    """running_var after the clean and the perturbed pass = 0.81 + 0.09 v(x) + 0.1 v(x') (momentum 0.1)."""
    net = _OneBN()
    batch = ZCBatch(torch.zeros(6, 1, 3, 3), torch.zeros(6, dtype=torch.long))
    g = torch.Generator().manual_seed(seed)
    w = torch.randn((2, 1, 1, 1), generator=g)  # what gaussian_params draws first
    x = torch.randn((6, 1, 3, 3), generator=g)
    x2 = x + 1e-2 * torch.randn((6, 1, 3, 3), generator=g)

    def var(inp):
        return (nn.functional.conv2d(inp, w)).transpose(0, 1).flatten(1).var(dim=1)

    rv = 0.9 * (0.9 + 0.1 * var(x)) + 0.1 * var(x2)
    delta = zen(net, batch, seed=seed, bn="batch_var") - 0.5 * math.log(float(var(x).mean()))
    assert zen(net, batch, seed=seed, bn="running_var") == pytest.approx(delta + 0.5 * math.log(float(rv.mean())))
    assert torch.equal(net.bn.running_var, torch.ones(2))  # the caller's statistics are untouched


def test_digits_batch_is_real_images_with_their_labels():
    cfg = ZCConfig(batch_size=12, resolution=16, data="digits")
    a, b = make_batch(cfg), make_batch(cfg)
    assert a.inputs.shape == (12, 3, 16, 16) and torch.equal(a.inputs, b.inputs)
    assert torch.equal(a.inputs[:, 0], a.inputs[:, 2])  # one grey channel repeated
    assert set(a.targets.tolist()) <= set(range(10)) and len(set(a.targets.tolist())) > 3
    assert not torch.equal(make_batch(cfg.model_copy(update={"seed": 1})).inputs, a.inputs)


def test_bad_data_batches_are_config_errors():
    with pytest.raises(ConfigError, match="10 classes"):
        make_batch(ZCConfig(batch_size=4, resolution=8, classes=5, data="digits"))
    with pytest.raises(ConfigError, match="root"):
        make_batch(ZCConfig(batch_size=4, resolution=8, data="cifar10"))
