"""arch2vec (issue 21): NB-201's node-op DAG, the inner-product decoder, the GIN encoder's isomorphism
invariance, the ELBO's KL term, and pre-training that learns to reconstruct."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.arch2vec import graphs
from nasgen.arch2vec.config import Arch2VecConfig
from nasgen.arch2vec.model import Arch2Vec, elbo_loss, greedy, kl_divergence
from nasgen.arch2vec.training import train
from nasgen.errors import ConfigError
from nasgen.nb201.arch import OPS, all_archs, from_index, sample_indices

SMALL = Arch2VecConfig(hidden=(32, 32, 16), latent=16, epochs=25, batch_size=32, prior_samples=500)


def test_nb201_dag_wires_each_edge_op_from_its_source_to_its_target():
    a = graphs.ADJACENCY
    # nodes: 0 input, 1..6 the edges (0,1) (0,2) (1,2) (0,3) (1,3) (2,3), 7 output
    assert set(np.flatnonzero(a[0])) == {1, 2, 4}  # edges out of NB-201 node 0
    assert set(np.flatnonzero(a[1])) == {3, 5}  # edge 0->1 feeds the edges out of node 1
    assert set(np.flatnonzero(a[:, 6])) == {2, 3}  # edge 2->3 reads the edges into node 2
    assert set(np.flatnonzero(a[:, 7])) == {4, 5, 6}  # the output reads the edges into node 3
    assert a.sum() == 10 and not np.tril(a).any()


def test_every_nb201_cell_round_trips():
    for arch in all_archs():
        adj, labels = graphs.encode(arch)
        assert graphs.decode(adj, labels) == arch


def test_decode_rejects_graphs_outside_nb201():
    adj, labels = graphs.encode(from_index(123))
    wrong_edge = adj.copy()
    wrong_edge[0, 3] = 1
    assert graphs.decode(wrong_edge, labels) is None
    assert graphs.decode(adj, [graphs.VOCAB.index("output"), *labels[1:]]) is None  # no input node
    inner_io = labels.copy()
    inner_io[3] = graphs.VOCAB.index("input")
    assert graphs.decode(adj, inner_io) is None


def test_reference_validity_ignores_the_adjacency_and_node_1():
    adj, labels = graphs.encode(from_index(7))
    assert graphs.reference_valid(labels)
    odd = labels.copy()
    odd[1] = graphs.VOCAB.index("output")  # node 1 is not checked by the authors' code
    assert graphs.reference_valid(odd) and graphs.decode(adj, odd) is None
    odd[2] = graphs.VOCAB.index("input")
    assert not graphs.reference_valid(odd)


def test_inner_product_decoder_is_sigmoid_of_zi_dot_zj():
    model = Arch2Vec(graphs.NB201.heads, SMALL)
    z = torch.tensor([[[1.0, 0.0] + [0.0] * 14, [2.0, 1.0] + [0.0] * 14, [0.0, -3.0] + [0.0] * 14]])
    _, logits = model.decode(z)
    assert torch.allclose(logits[0], torch.tensor([[1.0, 2, 0], [2, 5, -3], [0, -3, 9]]))
    _, edges = greedy(model, z)
    assert edges[0].tolist() == [[0, 1, 0], [0, 0, 0], [0, 0, 0]]  # upper triangle, logit > 0 (p > 0.5)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 15_624), st.permutations(range(8)))
def test_gin_encoder_is_permutation_equivariant(index, perm):
    torch.manual_seed(0)
    model = Arch2Vec(graphs.NB201.heads, SMALL).eval()
    adj, labels = graphs.encode(from_index(index))
    p = np.asarray(perm)
    ops, a = torch.from_numpy(labels)[None, :, None], torch.from_numpy(adj)[None]
    ops_p, a_p = ops[:, p], a[:, p][:, :, p]
    mu, _ = model.encode(ops, a)
    mu_p, _ = model.encode(ops_p, a_p)
    assert torch.allclose(mu[:, p], mu_p, atol=1e-5)
    assert torch.allclose(model.embed(ops, a), model.embed(ops_p, a_p), atol=1e-4)  # mean: isomorphism-invariant


def test_kl_is_zero_at_the_prior_and_matches_the_closed_form():
    assert float(kl_divergence(torch.zeros(2, 8, 16), torch.zeros(2, 8, 16))) == 0.0
    mu, logvar = torch.full((1, 1, 1), 0.5), torch.full((1, 1, 1), np.log(4.0))
    assert float(kl_divergence(mu, logvar)) == pytest.approx(0.5 * (4 + 0.25 - 1 - np.log(4)))


def test_without_kl_the_loss_is_reconstruction_only_and_deterministic():
    cfg = SMALL.model_copy(update={"kl": False})
    model = Arch2Vec(graphs.NB201.heads, cfg).train()
    adj, ops = graphs.encode_batch([from_index(i) for i in range(4)])
    ops, adj = torch.from_numpy(ops)[..., None], torch.from_numpy(adj)
    with torch.no_grad():
        a, b = elbo_loss(model, ops, adj), elbo_loss(model, ops, adj)
    assert float(a["kl"]) == 0.0 and float(a["loss"]) == pytest.approx(float(a["ops"] + a["adj"]))
    assert float(a["loss"]) == pytest.approx(float(b["loss"]))


def test_pretraining_learns_to_reconstruct_held_out_cells():
    archs = [from_index(int(i)) for i in sample_indices(2000, seed=1)]
    model, m = train(archs, SMALL)
    assert m["held_out"] == 200 and m["cells"] == 2000
    assert m["train_loss"][-1] < m["train_loss"][0]
    assert m["reconstruction"] >= 0.6  # all 8 ops and 28 edge decisions right; 0.745 measured, 0 if KL collapses
    assert 0.0 < m["validity"] <= 1.0 and 0.0 < m["uniqueness"] <= 1.0
    assert m["validity_reference"] >= m["validity"]  # the authors' check is weaker than decoding to a cell
    ops = {o for a in archs for o in a}
    assert ops == set(OPS)


def test_too_few_cells_for_a_split_is_a_config_error():
    with pytest.raises(ConfigError, match="held-out"):
        train([from_index(i) for i in range(5)], SMALL)


def test_benchmark_reports_ours_beside_table_3_1():
    from benchmarks.arch2vec import PUBLISHED, run

    out = run("tiny", threads=1, seeds=1, without_kl=True)  # the profile's arch2vec section, --set on top
    assert set(out["runs"]) == {"arch2vec", "arch2vec (w.o. KL)"}
    (row,) = out["runs"]["arch2vec"]
    assert row["cells"] == 15_625 and row["held_out"] == 1_562 and not out["runs"]["arch2vec (w.o. KL)"][0]["kl"]
    assert set(out["ours"]["arch2vec"]) >= {"reconstruction", "edge_accuracy", "validity", "validity_reference_check"}
    assert all(0 <= v["mean"] <= 100 for v in out["ours"]["arch2vec"].values())
    assert out["published_table_3_1"]["arch2vec"] == PUBLISHED["arch2vec"] == (100.0, 79.41, 98.72)
    g = run("tiny", threads=1, space="graphnet", cells=200, overrides={"arch2vec.prior_samples": 50})
    assert g["runs"]["arch2vec"][0]["cells"] == 200 and g["published_table_3_1"] is None


def test_stage_commits_weights_and_embeddings_that_round_trip(tmp_path):
    from nasgen.arch2vec.training import tensors
    from nasgen.config import get_profile
    from nasgen.errors import CorruptArtifactError
    from nasgen.stages import arch2vec as stage
    from nasgen.stages import registry
    from nasgen.store import ArtifactStore

    store, cfg = ArtifactStore(str(tmp_path)), get_profile("tiny").arch2vec
    ref = registry.run("arch2vec", store, cfg=cfg)
    assert registry.run("arch2vec", store, cfg=cfg) == ref  # cached
    emb = stage.embeddings(ref)
    assert emb.shape == (15_625, cfg.latent)
    ops, adj = tensors([from_index(i) for i in (0, 9_999)])
    assert torch.allclose(stage.load_model(ref).embed(ops, adj), emb[[0, 9_999]], atol=1e-6)
    store.fs.pipe_file(store.file_path("arch2vec", ref.key, "embeddings.safetensors"), b"not safetensors")
    with pytest.raises(CorruptArtifactError):
        stage.embeddings(ref)
