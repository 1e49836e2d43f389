"""CCNF maths: divergence, invertibility, moving batch norm, conditional density fitting, errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.ccnf import CCNF, CNFBlock, train
from nasgen.ccnf.config import CCNFConfig
from nasgen.ccnf.normalization import MovingBatchNorm1d
from nasgen.errors import ConfigError

TIGHT = CCNFConfig(hidden=16, layers=3, atol=1e-8, rtol=1e-8, batch_norm=False)


class Linear(torch.nn.Module):
    """g(u, t, c) = A u: the flow is u_T = exp(TA) u_0 and log|det| = T tr(A)."""

    def __init__(self, a: torch.Tensor):
        super().__init__()
        self.a = a

    def forward(self, t, u, cond):
        return u @ self.a.T


def _linear_block(a: torch.Tensor, divergence: str, end_time: float) -> CNFBlock:
    cfg = TIGHT.model_copy(update={"divergence": divergence, "end_time": end_time})
    block = CNFBlock(len(a), 1, cfg).double()
    block.func.net = Linear(a)
    return block


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.floats(0.1, 2.0), st.integers(0, 10_000))
def test_linear_dynamics_change_log_density_by_minus_t_trace(d, end_time, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64) * 0.5
    x = torch.randn(5, d, generator=g, dtype=torch.float64)
    block = _linear_block(a, "exact", end_time)
    y, logdet = block(x, torch.zeros(5, 1, dtype=torch.float64), None)
    t = block.func.end_time.detach()
    expected = torch.full((5,), float(-t * torch.trace(a)), dtype=torch.float64)
    torch.testing.assert_close(logdet, expected, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(y, x @ torch.linalg.matrix_exp(-t * a).T, atol=1e-6, rtol=1e-6)


def test_hutchinson_matches_exact_trace_on_average():
    g = torch.Generator().manual_seed(0)
    cfg = CCNFConfig(hidden=16, layers=3, batch_norm=False, divergence="exact")
    torch.manual_seed(0)
    func = CNFBlock(8, 2, cfg).func.double()
    u = torch.randn(4, 8, generator=g, dtype=torch.float64)
    func.cond = torch.randn(4, 2, generator=g, dtype=torch.float64)
    s = torch.tensor(0.3, dtype=torch.float64)
    exact = func(s, (u, torch.zeros(4, 1, dtype=torch.float64)))[1]
    func.divergence = "hutchinson"
    draws = []
    for _ in range(4000):
        func.noise = (torch.randint(0, 2, u.shape, generator=g) * 2 - 1).double()
        draws.append(func(s, (u, torch.zeros(4, 1, dtype=torch.float64)))[1])
    draws = torch.stack(draws)
    stderr = draws.std(0) / math.sqrt(len(draws))
    assert torch.all((draws.mean(0) - exact).abs() < 4 * stderr + 1e-9)


def _flow(dim=4, cond_dim=3, **kw) -> CCNF:
    torch.manual_seed(1)
    return CCNF(dim, cond_dim, TIGHT.model_copy(update={"batch_norm": True, **kw})).double().eval()


@pytest.mark.parametrize("blocks", [1, 2])
def test_forward_then_reverse_recovers_the_input(blocks):
    flow = _flow(blocks=blocks)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(16, 4, generator=g, dtype=torch.float64) * 3 + 1
    c = torch.randn(16, 3, generator=g, dtype=torch.float64)
    assert (flow.invert(flow.to_noise(x, c), c) - x).abs().max() < 1e-4


def test_log_prob_matches_change_of_variables_by_jacobian():
    flow = _flow(dim=3, cond_dim=2, divergence="exact")
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, generator=g, dtype=torch.float64)
    c = torch.randn(1, 2, generator=g, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: flow.to_noise(v.unsqueeze(0), c)[0], x)
    y = flow.to_noise(x.unsqueeze(0), c)[0]
    expected = -0.5 * (y.pow(2) + math.log(2 * math.pi)).sum() + torch.linalg.slogdet(jac)[1]
    torch.testing.assert_close(flow.log_prob(x.unsqueeze(0), c)[0], expected, atol=1e-5, rtol=1e-5)


def test_zero_dynamics_leave_points_and_log_density_unchanged():
    block = _linear_block(torch.zeros(3, 3, dtype=torch.float64), "hutchinson", 1.0)
    x = torch.randn(6, 3, dtype=torch.float64)
    y, logdet = block(x, torch.zeros(6, 1, dtype=torch.float64), torch.ones(6, 3, dtype=torch.float64))
    assert torch.equal(y, x) and torch.equal(logdet, torch.zeros(6, dtype=torch.float64))


def test_moving_batch_norm_inverse_and_log_det_are_exact():
    bn = MovingBatchNorm1d(3, momentum=0.5).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.3, -0.2, 0.1]))
        bn.bias.copy_(torch.tensor([1.0, -2.0, 0.5]))
    bn(torch.randn(50, 3, dtype=torch.float64) * 4 + 2)  # training step: running stats move
    assert not torch.allclose(bn.running_mean, torch.zeros(3, dtype=torch.float64))
    bn.eval()
    x = torch.randn(5, 3, dtype=torch.float64)
    y, logdet = bn(x)
    torch.testing.assert_close(bn.inverse(y), x)
    jac = torch.autograd.functional.jacobian(lambda v: bn(v.unsqueeze(0))[0][0], x[0])
    torch.testing.assert_close(logdet, torch.linalg.slogdet(jac)[1].expand(5))


def test_training_learns_a_one_dimensional_gaussian():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 0.5, size=(1000, 1))
    cfg = CCNFConfig(hidden=8, layers=2, atol=1e-4, rtol=1e-4, epochs=3, batch_size=100, val_fraction=0.2)
    model, hist, _ = train(x, np.zeros((1000, 1)), cfg)
    exact_nll = 0.5 * math.log(2 * math.pi * math.e * 0.25)  # entropy of N(3, 0.5^2)
    assert abs(hist.val_nll[hist.best_epoch] - exact_nll) < 0.1
    s = model.sample(torch.zeros(4000, 1), torch.Generator().manual_seed(0)).numpy()
    assert abs(s.mean() - 3.0) < 0.1 and abs(s.std() - 0.5) < 0.1


def test_conditional_toy_density_nll_decreases_and_samples_follow_the_condition():
    rng = np.random.default_rng(0)
    c = rng.choice([-2.0, 2.0], size=(2000, 1))
    x = np.concatenate([c + 0.2 * rng.normal(size=(2000, 1)), -c + 0.2 * rng.normal(size=(2000, 1))], axis=1)
    cfg = CCNFConfig(hidden=32, layers=3, atol=1e-4, rtol=1e-4, epochs=8, batch_size=128, patience=8)
    model, hist, _ = train(x, c, cfg)
    assert hist.val_nll[-1] < hist.val_nll[0] - 0.3
    s = model.sample(torch.full((500, 1), 2.0), torch.Generator().manual_seed(0)).numpy()
    assert s[:, 0].mean() > 1.0 and s[:, 1].mean() < -1.0


def test_wrong_dimensions_give_clear_errors():
    flow = _flow(dim=4, cond_dim=3)
    with pytest.raises(ConfigError, match=r"condition must have shape \(N, 3\)"):
        flow.sample(torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(ConfigError, match=r"input must have shape \(2, 4\)"):
        flow.log_prob(torch.zeros(2, 2, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ConfigError, match="2 conditions"):
        train(np.zeros((3, 2)), np.zeros((2, 1)), TIGHT)
    with pytest.raises(ConfigError, match="finite"):
        train(np.full((3, 2), np.nan), np.zeros((3, 1)), TIGHT)


def test_sampling_is_deterministic_under_a_seed():
    flow = _flow()
    c = torch.zeros(8, 3, dtype=torch.float64)
    a = flow.sample(c, torch.Generator().manual_seed(5))
    b = flow.sample(c, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, flow.sample(c, torch.Generator().manual_seed(6)))


def test_adjoint_gradients_match_direct_backpropagation():
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    c = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    grads = []
    for adjoint in (False, True):
        torch.manual_seed(0)
        flow = CCNF(3, 2, TIGHT.model_copy(update={"adjoint": adjoint, "divergence": "exact"})).double().train()
        flow.nll(x, c).backward()
        grads.append(torch.cat([p.grad.flatten() for p in flow.parameters() if p.grad is not None]))
    assert len(grads[0]) == len(grads[1])
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-4)
