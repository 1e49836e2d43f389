"""Proxies against values computed by hand or by closed-form formulas on tiny fixed-weight networks."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from nasgen.zc import naswot as nw
from nasgen.zc import saliency, tcet, zico
from nasgen.zc.common import ZCBatch, binary_gram, gram_logdet, preserved_state, ssnr
from nasgen.zc.config import ZCConfig


def _batch(x, y=None):
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.zeros(x.shape[0], dtype=torch.long) if y is None else torch.as_tensor(y)
    return ZCBatch(x, y)


def _linear(w, b=None):
    w = torch.as_tensor(w, dtype=torch.float32)
    m = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    with torch.no_grad():
        m.weight.copy_(w)
        if b is not None:
            m.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
    return m


def test_naswot_log_det_from_known_codes():
    # codes 1100, 1010, 0001 agree on 2, 1, 1 units: K = [[4,2,1],[2,4,1],[1,1,4]], det = 44
    x = [[1.0, 2.0, -1.0, 0.0], [3.0, -2.0, 0.5, -1.0], [-1.0, -3.0, 0.0, 2.0]]
    net = nn.Sequential(nn.ReLU(), _linear(np.ones((2, 4))))
    assert nw.naswot(net, _batch(x)) == pytest.approx(math.log(44), rel=1e-12)


@given(st.integers(2, 6), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_binary_gram_is_agreement_count(b, n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-2, 3, (b, n), generator=g).float()  # exact zeros included: their code is 0
    c = (x > 0).double()
    expected = c @ c.T + (1 - c) @ (1 - c).T
    assert torch.equal(binary_gram(x), expected)


def test_singular_gram_scores_zero_and_nonsingular_is_exact():
    k = torch.tensor([[3.0, 3.0, 1.0], [3.0, 3.0, 1.0], [1.0, 1.0, 3.0]], dtype=torch.float64)
    assert gram_logdet(k).item() == 0.0
    k2 = torch.tensor([[4.0, 2.0, 1.0], [2.0, 4.0, 1.0], [1.0, 1.0, 4.0]], dtype=torch.float64)
    assert gram_logdet(k2).item() == pytest.approx(math.log(44), rel=1e-12)


def test_ssnr_is_sum_over_unbiased_std():
    assert ssnr(torch.tensor([1.0, 2.0, 3.0, 4.0])) == pytest.approx(10 / np.std([1, 2, 3, 4], ddof=1))
    assert ssnr(torch.tensor([2.5])) == 2.5  # one weight: std undefined -> sum
    assert ssnr(torch.full((5,), 0.5)) == 2.5  # zero std -> sum


W1 = [[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]]  # 2 -> 3
W2 = [[2.0, -1.0, 0.5], [-0.5, 1.0, 4.0]]  # 3 -> 2


def test_snip_saliencies_of_two_layer_linear_net():
    x = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]])
    y = np.array([1, 0, 1])
    net = nn.Sequential(_linear(W1), _linear(W2))
    sal = saliency.snip_saliencies(net, _batch(x, y))
    w1, w2 = np.array(W1), np.array(W2)
    h = x @ w1.T
    z = h @ w2.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g = (p - np.eye(2)[y]) / len(x)  # dL/dz of the mean cross-entropy
    d_w2 = g.T @ h
    d_w1 = (g @ w2).T @ x
    np.testing.assert_allclose(sal[net[0]].numpy(), np.abs(w1 * d_w1), rtol=1e-5)
    np.testing.assert_allclose(sal[net[1]].numpy(), np.abs(w2 * d_w2), rtol=1e-5)


def test_synflow_of_two_layer_linear_net_and_conservation():
    net = nn.Sequential(_linear(W1), nn.BatchNorm1d(3), _linear(W2))
    sal = saliency.synflow_saliencies(net, (2,))
    a1, a2 = np.abs(W1), np.abs(W2)
    r = np.ones(2) @ a2 @ a1 @ np.ones(2)  # R = 1^T |W2| |W1| 1 with BN removed
    np.testing.assert_allclose(sal[net[0]].numpy(), a1 * (np.ones(2) @ a2)[:, None], rtol=1e-12)
    np.testing.assert_allclose(sal[net[2]].numpy(), a2 * (a1 @ np.ones(2))[None, :], rtol=1e-12)
    for layer in (net[0], net[2]):  # synflow's conservation law: every layer's saliencies sum to R
        assert sal[layer].sum().item() == pytest.approx(r, rel=1e-12)
    assert sal[net[0]].dtype == torch.float64 and net[0].weight.dtype == torch.float32
    assert torch.equal(net[0].weight, torch.tensor(W1))  # caller's weights untouched


class _DeclaredBackwards(nn.Module):
    """Declares its layers in the opposite order to the one it calls them in."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(2)
        self.second = _linear(rng.normal(size=(6, 6)), rng.normal(size=6))
        self.first = _linear(rng.normal(size=(6, 3)), rng.normal(size=6))

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


def _logdet(out):
    c = (out > 0).astype(float)
    k = c @ c.T + (1 - c) @ (1 - c).T
    assert np.linalg.matrix_rank(k) == len(k)
    return np.linalg.slogdet(k)[1]


def test_tcet_pairs_layers_by_module_not_list_order():
    net = _DeclaredBackwards()
    x = np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0], [-0.7, 0.2, 2.0], [1.5, 1.5, -0.3]])
    w1, b1 = net.first.weight.detach().double().numpy(), net.first.bias.detach().double().numpy()
    w2, b2 = net.second.weight.detach().double().numpy(), net.second.bias.detach().double().numpy()
    h = x @ w1.T + b1
    out = np.maximum(h, 0) @ w2.T + b2
    lnwot = {"first": _logdet(h), "second": _logdet(out)}
    # synflow (|params|, all-ones input): dR/dW2[i,j] = (|W1| 1 + |b1|)_j, dR/dW1[j,k] = (1^T |W2|)_j
    syn = {
        "first": np.abs(w1) * (np.ones(6) @ np.abs(w2))[:, None],
        "second": np.abs(w2) * (np.abs(w1) @ np.ones(3) + np.abs(b1))[None, :],
    }
    ssnrs = {k: v.sum() / v.std(ddof=1) for k, v in syn.items()}
    expected = lnwot["first"] * ssnrs["first"] + lnwot["second"] * ssnrs["second"]
    by_list_order = lnwot["first"] * ssnrs["second"] + lnwot["second"] * ssnrs["first"]  # the reference's zip
    got = tcet.tcet(net, _batch(x))
    assert got == pytest.approx(expected, rel=1e-6)
    assert abs(got - by_list_order) > 1e-3 * abs(expected)


def test_zico_of_one_linear_layer():
    w, b = [[0.5, -1.0, 2.0], [1.0, 0.3, -0.4]], [0.1, -0.2]
    net = _linear(w, b)
    x = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0], [-1.0, 1.0, 0.0], [2.0, -0.5, 0.3]])
    y = np.array([0, 1, 1, 0])
    grads = []
    for part in (slice(0, 2), slice(2, 4)):
        z = x[part] @ np.array(w).T + b
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        grads.append(((p - np.eye(2)[y[part]]) / 2).T @ x[part])
    g = np.stack([gi.ravel() for gi in grads])
    std, mean = g.std(0), np.abs(g).mean(0)
    expected = math.log((mean[std > 0] / std[std > 0]).sum())
    assert zico.zico(net, _batch(x, y), splits=2) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="splits"):
        zico.zico(net, _batch(x, y), splits=1)


def test_preserved_state_restores_bn_statistics_and_mode():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with preserved_state(net):
        net.train()
        net(torch.randn(4, 3, 8, 8))
    assert not net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_config_orders_proxies_canonically_and_rejects_repeats():
    assert ZCConfig(proxies=("tcet", "naswot")).proxies == ("naswot", "tcet")
    with pytest.raises(ValueError):
        ZCConfig(proxies=("naswot", "naswot"))
