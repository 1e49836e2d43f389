"""MeCo, SWAP, AZ-NAS and the rank ensembles against closed-form values on tiny fixed networks."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nasgen.zc import aznas, meco, swap
from nasgen.zc.common import ZCBatch
from nasgen.zc.config import SOTA_PROXIES, ZCConfig
from nasgen.zc.ensemble import ENSEMBLES, aggregate, ensemble_scores, ranks


def _batch(x):
    x = torch.as_tensor(x, dtype=torch.float32)
    return ZCBatch(x, torch.zeros(x.shape[0], dtype=torch.long))


def _conv1x1(scale: float, channels: int = 1, stride: int = 1) -> nn.Conv2d:
    m = nn.Conv2d(channels, channels, 1, stride=stride, bias=False)
    with torch.no_grad():
        m.weight.copy_(scale * torch.eye(channels).reshape(channels, channels, 1, 1))
    return m


class StemCells(nn.Module):
    """The layout AZ-NAS reads: ``stem`` and a Sequential of ``cells``."""

    def __init__(self, stem: nn.Module, *cells: nn.Module):
        super().__init__()
        self.stem, self.cells = stem, nn.Sequential(*cells)

    def forward(self, x):
        return self.cells(self.stem(x))


# ---- MeCo ----


def test_min_eig_of_channel_correlation_closed_forms():
    t = torch.arange(6.0)
    assert meco.min_eig_corr(torch.stack([t, 2 * t + 1]).reshape(2, 2, 3)) == pytest.approx(0.0, abs=1e-12)
    orth = torch.tensor([[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]])  # uncorrelated: R = I
    assert meco.min_eig_corr(orth) == pytest.approx(1.0, abs=1e-12)
    # correlation r between two channels: eigenvalues 1 +- |r|
    a, b = torch.tensor([1.0, 2.0, 3.0, 5.0]), torch.tensor([2.0, 1.0, 4.0, 3.0])
    r = float(torch.corrcoef(torch.stack([a, b]).double())[0, 1])
    assert meco.min_eig_corr(torch.stack([a, b])) == pytest.approx(1 - abs(r), rel=1e-12)
    assert meco.min_eig_corr(torch.ones(3, 1, 1)) == 0.0  # one position: undefined, the reference's 0
    const = torch.stack([a, torch.full((4,), 2.0)])  # a constant channel: its row and column are 0
    assert meco.min_eig_corr(const) == pytest.approx(0.0, abs=1e-12)


def test_meco_sums_every_module_output_as_the_reference_hooks_them():
    """A Sequential's output is its last layer's: the reference's named_modules() hooks count it twice."""
    x = torch.tensor([[[[1.0, -1.0], [1.0, -1.0]], [[1.0, 1.0], [-1.0, -1.0]]]])  # 2 uncorrelated channels
    net = nn.Sequential(_conv1x1(3.0, channels=2))
    vals = meco.meco_values(net, _batch(torch.cat([x, -x])))  # only the first image is read
    assert vals["meco"] == pytest.approx(2.0, abs=1e-12)
    assert vals["meco_opt"] == vals["meco"]  # <= 8 channels: every channel, no scaling


def test_meco_opt_scales_a_seeded_sample_of_eight_channels():
    x = torch.randn(1, 16, 4, 4, generator=torch.Generator().manual_seed(0))
    net = nn.Sequential(_conv1x1(1.0, channels=16))  # identity conv: two hooks (conv, then root) see x
    vals = meco.meco_values(net, _batch(x), seed=3)
    g = torch.Generator().manual_seed(3)
    picks = [torch.randperm(16, generator=g)[:8] for _ in range(2)]
    assert vals["meco_opt"] == pytest.approx(sum(meco.min_eig_corr(x[0][p]) * 16 / 8 for p in picks), rel=1e-9)
    assert vals["meco"] == pytest.approx(2 * meco.min_eig_corr(x[0]), rel=1e-9)


# ---- SWAP ----


def test_swap_counts_distinct_unit_patterns_over_the_batch():
    # 3 samples, 4 units: patterns over the batch per unit 110, 101, 110, 000 -> 3 distinct
    x = torch.tensor([[1.0, 2.0, 1.0, -1.0], [3.0, -2.0, 0.5, -1.0], [-1.0, 3.0, -2.0, -2.0]]).reshape(3, 1, 1, 4)
    assert swap.swap(nn.Sequential(nn.ReLU()), _batch(x)) == 3.0
    # the same patterns in two ReLU calls count once; a 2-D ReLU input is not read
    twice = nn.Sequential(nn.ReLU(), nn.ReLU(), nn.Flatten(), nn.ReLU())
    assert swap.swap(twice, _batch(x + 10 * (x > 0))) == 3.0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 130), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_packed_patterns_count_like_unique_rows(b, units, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-1, 2, (b, units), generator=g).float().reshape(b, units, 1, 1)
    counter = swap.PatternCounter()
    counter.add(x)
    expected = torch.unique((x.reshape(b, -1) > 0).T, dim=0).shape[0]
    assert counter.count() == expected


def test_swap_regulariser_is_a_bell_in_thousands_of_parameters():
    assert swap.regulariser(50_000, 50.0, 10.0) == 1.0
    assert swap.regulariser(60_000, 50.0, 10.0) == pytest.approx(math.exp(-10.0))


# ---- AZ-NAS ----


def test_expressivity_is_the_entropy_of_the_covariance_spectrum():
    # two channels, uncorrelated, variances 1 and 4 -> p = (0.2, 0.8)
    c0 = torch.tensor([1.0, -1.0, 1.0, -1.0])
    c1 = 2 * torch.tensor([1.0, 1.0, -1.0, -1.0])
    f = torch.stack([c0, c1]).reshape(1, 2, 2, 2)
    p = np.array([0.2, 0.8])
    assert aznas.expressivity_of(f) == pytest.approx(float(-(p * np.log(p + 1e-8)).sum()), rel=1e-9)
    assert aznas.expressivity_of(torch.ones(2, 3, 2, 2)) == -math.inf


def test_trainability_of_a_scaling_block_is_minus_s_minus_one_over_s_plus_two():
    """One channel: G_in^T G_out / N = s exactly for g_in = s g_out."""
    for s in (0.5, 1.25, 3.0):  # exact in float32
        net = StemCells(_conv1x1(1.0), _conv1x1(s))
        x = torch.randn(4, 1, 3, 3, generator=torch.Generator().manual_seed(1))
        vals = aznas.aznas(net, _batch(x))
        assert vals["az_trainability"] == pytest.approx(-s - 1 / (s + 1e-6) + 2, rel=1e-9)
        assert vals["az_progressivity"] == pytest.approx(0.0, abs=1e-7)  # one channel: entropy ~0 everywhere
    identity = StemCells(_conv1x1(1.0), nn.Identity())  # g_in == g_out: the reference's -inf
    assert (
        aznas.aznas(StemCells(_conv1x1(1.0), _conv1x1(1.0)), _batch(torch.randn(2, 1, 2, 2)))["az_trainability"]
        == -math.inf
    )
    assert aznas.aznas(identity, _batch(torch.randn(2, 1, 2, 2)))["az_trainability"] == -math.inf


def test_trainability_handles_resolutions_that_do_not_divide():
    """7 -> 4 (a stride-2 block at 28x28 after one reduction): zero-padded to 8 before the unshuffle."""
    net = StemCells(_conv1x1(1.0, channels=2), nn.Conv2d(2, 3, 3, stride=2, padding=1))
    vals = aznas.aznas(net, _batch(torch.randn(4, 2, 7, 7, generator=torch.Generator().manual_seed(0))))
    assert all(math.isfinite(v) for v in vals.values())


def test_stage_features_need_two_stages():
    with pytest.raises(ValueError, match="at least 2 stage"):
        aznas.aznas(nn.Sequential(_conv1x1(1.0), nn.Flatten()), _batch(torch.randn(2, 1, 2, 2)))


# ---- ensembles ----


def test_ranks_average_ties_and_put_missing_values_last():
    assert ranks([3.0, 1.0, 3.0, float("nan"), -math.inf]).tolist() == [4.5, 3.0, 4.5, 1.5, 1.5]


def test_log_and_mean_rank_aggregation_by_hand():
    cols = {"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 3.0, 2.0, 1.0], "c": [1.0, 1.0, 2.0, 2.0]}
    log = aggregate(cols, ["a", "b"], "log")
    assert log == pytest.approx(np.log([1 / 4 * 4 / 4, 2 / 4 * 3 / 4, 3 / 4 * 2 / 4, 4 / 4 * 1 / 4]))
    assert aggregate(cols, ["a", "c"], "mean") == pytest.approx(
        [(0.25 + 0.375) / 2, (0.5 + 0.375) / 2, (0.75 + 0.875) / 2, (1.0 + 0.875) / 2]
    )
    # log aggregation punishes one bottom rank; the mean does not
    assert np.argmax(aggregate(cols, ["a", "b"], "log")) in (1, 2)
    with pytest.raises(ValueError, match="not scored"):
        aggregate(cols, ["a", "zz"])
    with pytest.raises(ValueError, match="aggregation"):
        aggregate(cols, ["a"], "median")


def test_named_ensembles_are_sota_and_classic_proxies():
    members = {m for ms in ENSEMBLES.values() for m in ms}
    assert members <= set(ZCConfig.model_fields["proxies"].annotation.__args__[0].__args__)
    cols = {m: [1.0, 2.0] for m in ENSEMBLES["aznas"]}
    assert list(ensemble_scores(cols)) == ["aznas"]


# ---- the record ----


def test_sota_proxies_are_scored_in_canonical_order():
    cfg = ZCConfig(batch_size=4, resolution=8, proxies=tuple(reversed(SOTA_PROXIES)))
    assert cfg.proxies == SOTA_PROXIES


# ---- the authors' procedures, transcribed step by step (float32, their eigen-solvers, no clamping) ----


@pytest.fixture(scope="module")
def macro_net():
    from nasgen.zc import Scorer, seeded_network
    from tests.test_zc_record import CELL, CFG

    return seeded_network(Scorer(CFG).macro_for(CELL), seed=7), torch.randn(
        8, *CFG.input_shape, generator=torch.Generator().manual_seed(5)
    )


def test_meco_equals_the_reference_procedure_on_a_macro_network(macro_net):
    """HamsterMimi/MeCo get_score: every module hooked, out[0], corrcoef, NaN/inf -> 0, general eig, min real."""
    net, x = macro_net
    vals = []

    def hook(_m, _i, out):
        f = out[0].detach()
        f = f.reshape(f.shape[0], -1)
        r = torch.corrcoef(f) if f.shape[1] > 1 else torch.full((f.shape[0],) * 2, float("nan"))
        r[torch.isnan(r) | torch.isinf(r)] = 0
        vals.append(float(torch.min(torch.real(torch.linalg.eig(r)[0]))))

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()
    with torch.no_grad():
        net(x[:1])
    for h in handles:
        h.remove()
    net.load_state_dict(state)
    ours = meco.meco_values(net, _batch(x))["meco"]
    assert ours == pytest.approx(sum(vals), rel=1e-4, abs=1e-4)


def test_aznas_expressivity_and_progressivity_equal_the_reference_procedure(macro_net):
    """cvlab-yonsei/AZ-NAS compute_az_nas_score: float32 covariance over (B*H*W, C), eigvalsh, p = l / sum l,
    -sum p log(p + 1e-8); progressivity the smallest step between consecutive stage features."""
    net, x = macro_net
    with aznas.stage_features(net) as feats:
        state = {k: v.clone() for k, v in net.state_dict().items()}
        net.train()
        net(x)
    net.load_state_dict(state)
    deficient = 0
    for f in feats:
        m = f.detach().permute(0, 2, 3, 1).reshape(-1, f.shape[1])
        m = m - m.mean(0)
        lam = torch.linalg.eigvalsh(m.T @ m / m.shape[0])
        p = lam / lam.sum()
        ref = float(-(p * torch.log(p + 1e-8)).sum())
        if math.isnan(ref):  # the reference's NaN: fp32 round-off negatives of a rank-deficient covariance
            assert m.shape[0] - 1 < m.shape[1]
            deficient += 1
        else:
            assert aznas.expressivity_of(f) == pytest.approx(ref, rel=1e-4, abs=1e-5)
    assert deficient < len(feats)
    ours = aznas.aznas(net, _batch(x))
    ent = [aznas.expressivity_of(f) for f in feats]
    assert ours["az_expressivity"] == pytest.approx(sum(ent), rel=1e-12)
    assert ours["az_progressivity"] == pytest.approx(min(b - a for a, b in zip(ent, ent[1:])), rel=1e-12)


def test_the_sota_proxies_are_objectives_of_searches_and_generate():
    from nasgen.generate.config import GenerateConfig
    from nasgen.generate.request import GenerateRequest
    from nasgen.search.config import HLEvoConfig
    from nasgen.search.objective import ZCObjective
    from nasgen.stages.generate import _payload

    hl = HLEvoConfig(objective="az_trainability")
    assert "az_trainability" in hl.zc.proxies
    gen = GenerateConfig(objective="meco")
    assert "meco" in gen.zc.proxies and "tcet" in gen.zc.proxies
    goal = ZCObjective(ZCConfig(batch_size=4, resolution=8, proxies=("swap",)), objective="swap")
    assert goal.fitness({"status": "ok", "swap": 12.0}) == 12.0
    req = GenerateRequest(max_params=100_000)
    assert "objective" not in _payload(req, GenerateConfig(objective="tcet"))["generate"]  # T-CET keys unchanged
    assert _payload(req, GenerateConfig())["generate"]["objective"] == "meco_opt"  # the default since
    assert _payload(req, gen)["generate"]["objective"] == "meco"
