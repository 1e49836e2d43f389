"""G-VAE: strict decoding, target round trip, overfitting, triplet mining, determinism, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from nasgen.errors import ConfigError
from nasgen.gvae import encode_cells, reconstruct, to_cell, train
from nasgen.gvae.config import GVAEConfig
from nasgen.gvae.data import TRIU
from nasgen.gvae.training import mine_triplets
from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import unique_codes
from tests.conftest import cells as cell_strategy

SMALL = GVAEConfig(hidden=64, latent=16, layers=3, batch_size=50, val_fraction=0, beta_kl=0.0, lr=3e-3, epochs=300,
                   patience=300)  # fmt: skip


def _cells(n, seed=5):
    codes, _ = unique_codes(n, seed, SamplerConfig(batch_size=1024))
    return [Cell.from_code(int(c)) for c in codes]


def _targets(cell):
    g = encode_cells([cell])
    return int(g.n_ops[0]), g.type_class[0].tolist(), g.kernel_class[0].tolist(), g.edges[0].int().tolist()


@given(cell_strategy())
def test_targets_decode_back_to_the_same_cell(cell):
    decoded = to_cell(*_targets(cell))
    assert decoded.ok and decoded.cell == cell


def test_decoding_is_strict_and_names_the_problem():
    cell = Cell.from_dict({"nodes": ["input", "conv_3", "skip", "output"], "edges": [[0, 1], [1, 2], [2, 3]]})
    n, types, kern, edges = _targets(cell)
    pairs = [tuple(p) for p in TRIU.T.tolist()]

    def with_edge(i, j, v):
        e = list(edges)
        e[pairs.index((i, j))] = v
        return e

    cases = {
        "op count 0": (0, types, kern, edges),
        "op count 7": (7, types, kern, edges),
        "skip with kernel class": (n, types, kern[:2] + [2] + kern[3:], edges),
        "conv with kernel class 0": (n, types, kern[:1] + [0] + kern[2:], edges),
        "class out of range": (n, types[:1] + [12] + types[2:], kern, edges),
        "has no output edge": (n, types, kern, with_edge(1, 2, 0)),  # conv_3 cut off: not repaired
    }
    for reason, args in cases.items():
        d = to_cell(*args)
        assert not d.ok and reason in d.reason, (reason, d.reason)
    # pairs beyond the decoded size are not part of the cell: they are not read
    assert to_cell(n, types, kern, with_edge(2, 6, 1)).cell == cell


@pytest.mark.parametrize("encoder", ["gcn", "gin"])  # gin: the arch2vec encoder ablation
def test_overfits_fifty_cells_exactly(encoder):
    cells = _cells(50)
    rng = np.random.default_rng(0)
    cfg = SMALL.model_copy(update={"encoder": encoder})
    model, hist, _ = train(cells, cfg, np.arange(20), rng.normal(size=(20, 4)))
    decoded = reconstruct(model, cells)
    assert all(d.ok for d in decoded), [d.reason for d in decoded if not d.ok][:3]
    assert [d.cell.cell_id for d in decoded] == [c.cell_id for c in cells]  # decode(encode(x)) == x
    assert hist.recon[-1] < hist.recon[0] / 20 and hist.predictor[-1] < hist.predictor[0]


def test_training_is_deterministic_under_a_seed():
    cells = _cells(12)
    cfg = SMALL.model_copy(update={"epochs": 3})
    a, _, _ = train(cells, cfg)
    b, _, _ = train(cells, cfg)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_triplets_pair_nearest_positives_with_farther_negatives():
    t = torch.tensor([[0.0, 0, 0, 0], [0.1, 0, 0, 0], [5.0, 0, 0, 0], [5.2, 0, 0, 0]])
    trip = mine_triplets(t, torch.Generator().manual_seed(0))
    d = torch.cdist(t, t, p=1)
    assert len(trip) == 4
    for a, p, n in trip.tolist():
        assert p == {0: 1, 1: 0, 2: 3, 3: 2}[a] and d[a, n] > d[a, p]


def test_bad_inputs_are_clear():
    cells = _cells(5)
    with pytest.raises(ConfigError, match="at least 2 cells"):
        train(cells[:1], SMALL)
    with pytest.raises(ConfigError, match="t_zc must have shape"):
        train(cells, SMALL, np.arange(3), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="no cells"):
        encode_cells([])


def test_dead_node_loss_is_minus_log_probability_of_connected_op_nodes():
    from nasgen.gvae.training import dead_node_loss

    pairs = [tuple(p) for p in TRIU.T.tolist()]
    size = torch.full((1, 6), -10.0)
    size[0, 0] = 10.0  # one op: nodes 0 (input), 1 (op), 2 (output)
    logits = torch.full((1, 28), -30.0)
    p01, p12, p02 = 0.8, 0.6, 0.9
    for (i, j), p in (((0, 1), p01), ((1, 2), p12), ((0, 2), p02), ((1, 5), 0.99)):  # (1, 5) lies outside
        logits[0, pairs.index((i, j))] = torch.logit(torch.tensor(p))
    expected = -np.log(p01) - np.log(p12)  # op node 1 needs an in-edge (0,1) and an out-edge (1,2)
    assert dead_node_loss(size, logits).item() == pytest.approx(expected, rel=1e-4)


def test_validity_latents_mix_rescaled_prior_and_segments_between_training_latents():
    from nasgen.gvae.training import validity_latents

    mu = torch.tensor([[0.0, 0.0], [2.0, 4.0]])
    gen = torch.Generator().manual_seed(0)
    z = validity_latents(mu, 1.0, gen)  # all rows on the segment from mu[0] to mu[1] (or a point of it)
    assert torch.allclose(z[:, 1], 2 * z[:, 0]) and bool(((z[:, 0] >= 0) & (z[:, 0] <= 2)).all())
    big = torch.randn(1000, 3, generator=gen) * 3 + 5
    z = validity_latents(big, 0.0, gen)  # the rescaled prior: the batch's mean and std
    assert torch.allclose(z.mean(0), big.mean(0), atol=0.4) and torch.allclose(z.std(0), big.std(0), atol=0.3)
    assert len(validity_latents(big, 0.25, gen)) == 1000


def test_edge_logits_equal_the_edge_head_on_concatenated_slot_pairs():
    """The factorised first layer (W_i s_i + W_j s_j) is the concatenated pair MLP, same weights."""
    from nasgen.gvae.model import Decoder

    torch.manual_seed(0)
    dec = Decoder(GVAEConfig(layers=1, hidden=16, latent=4))
    s = torch.randn(5, 8, 16)
    pairs = torch.cat([s[:, TRIU[0]], s[:, TRIU[1]]], dim=-1)
    torch.testing.assert_close(dec.edge_logits(s), dec.edge_head(pairs).squeeze(-1), rtol=1e-5, atol=1e-6)


def test_triplet_negatives_are_uniform_among_the_farther_cells():
    t = torch.tensor([[0.0, 0, 0, 0], [0.1, 0, 0, 0], [5.0, 0, 0, 0], [6.0, 0, 0, 0], [7.0, 0, 0, 0]])
    gen = torch.Generator().manual_seed(0)
    negs = [int(mine_triplets(t, gen)[0, 2]) for _ in range(3000)]
    counts = np.bincount(negs, minlength=5)
    assert counts[0] == counts[1] == 0  # the anchor itself and its positive are never negatives
    assert np.all(np.abs(counts[2:] / 3000 - 1 / 3) < 0.04)  # ~4.6 standard errors


def test_gcn_on_a_normalised_adjacency_equals_torch_geometrics_dense_gcn_conv():
    from torch_geometric.nn.dense import DenseGCNConv

    from nasgen.gvae.model import dense_gcn, gcn_normalised

    torch.manual_seed(0)
    conv = DenseGCNConv(6, 5)
    x, adj = torch.randn(3, 8, 6), (torch.rand(3, 8, 8) < 0.3).float()
    mask = torch.rand(3, 8) < 0.8
    want = conv(x, adj, mask)
    got = dense_gcn(conv, x, gcn_normalised(adj), mask.unsqueeze(-1).float())
    torch.testing.assert_close(got, want)


def test_one_merged_step_equals_separate_encoder_and_decoder_passes():
    """step_loss runs the batch and the labelled cells through one encoder call and the posterior draws and
    validity latents through one decoder call; every layer acts per graph, so loss and gradients equal the
    separate passes (same generator streams)."""
    from nasgen.gvae.model import GVAE
    from nasgen.gvae.training import (
        dead_node_loss,
        kl_divergence,
        reconstruction_loss,
        step_loss,
        triplet_loss,
        validity_latents,
    )

    cells = _cells(30)
    cfg = GVAEConfig(hidden=16, latent=4, layers=2, beta_kl=0.01, validity_weight=0.1, validity_interpolation=0.5)
    data = encode_cells(cells)
    g, lab = data.index(torch.arange(0, 16)), data.index(torch.arange(16, 30))
    zc = torch.randn(14, 4, generator=torch.Generator().manual_seed(1))

    def separate(model):
        torch.manual_seed(3)
        gen = torch.Generator().manual_seed(4)
        mu, logvar, logits = model(g)
        loss = reconstruction_loss(logits, g).mean() + cfg.beta_kl * kl_divergence(mu, logvar).mean()
        size, _, _, edges = model.decoder(validity_latents(mu.detach(), cfg.validity_interpolation, gen))
        loss = loss + cfg.validity_weight * dead_node_loss(size, edges).mean()
        mu_l, _ = model.encode(lab)
        return loss + triplet_loss(mu_l, zc, cfg.triplet_margin, gen) + F.mse_loss(model.predictor(mu_l), zc)

    def merged(model):
        torch.manual_seed(3)
        return step_loss(model, cfg, g, (lab, zc), torch.Generator().manual_seed(4))[0]

    torch.manual_seed(0)
    model = GVAE(cfg)
    grads = []
    for fn in (separate, merged):
        model.zero_grad()
        loss = fn(model)
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(grads[1][0], grads[0][0])
    for a, b in zip(grads[1][1], grads[0][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
