"""Sequence generator: tokenizer round trip, grammar-constrained decoding, condition dropping, training."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.errors import ArtifactMissingError, ConfigError, CorruptArtifactError
from nasgen.sg.config import SGConfig
from nasgen.sg.grammar import GrammarLogitsProcessor
from nasgen.sg.model import build, restore, state_dict
from nasgen.sg.sampling import generate, sample_bodies
from nasgen.sg.tokenizer import BOS, EOS, SEP, InvalidSequenceError, SGTokenizer
from nasgen.sg.training import IGNORE, Example, collate, drop_condition, split, train
from nasgen.space.macro import CHANNELS, MAX_LAYERS, HLLayer, HLSequence

K = 5
FIELDS = ("params", "flops", "tcet")
TOK = SGTokenizer.fit({"params": np.linspace(1e4, 1e6, 200), "flops": np.geomspace(1e6, 1e9, 200),
                       "tcet": np.linspace(50, 300, 200)}, bins=8, clusters=K)  # fmt: skip
TINY = SGConfig(layers=1, hidden=32, heads=2, dropout=0.0, epochs=3, batch_size=8)

layers = st.builds(HLLayer, st.integers(0, K - 1), st.sampled_from(CHANNELS), st.sampled_from((1, 2)))
sequences = st.builds(lambda ls: HLSequence(tuple(ls)), st.lists(layers, min_size=1, max_size=MAX_LAYERS))
conditions = st.dictionaries(st.sampled_from(FIELDS), st.floats(0, 1e10, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(sequences, conditions)
def test_tokenizer_round_trip(seq, condition):
    ids = TOK.encode(seq, condition)
    assert ids[0] == BOS and ids[-1] == EOS and ids.index(SEP) == 1 + len(condition)
    assert TOK.decode(ids) == seq and max(ids) < TOK.vocab_size
    cond_tokens = ids[1 : ids.index(SEP)]
    assert cond_tokens == sorted(cond_tokens)  # fixed field order


def test_bins_are_quantiles_and_monotone():
    assert [TOK.bins(f) for f in FIELDS] == [8, 8, 8]
    values = np.linspace(1e4, 1e6, 200)
    b = [TOK.bin_of("params", v) for v in values]
    assert b == sorted(b) and b[0] == 0 and b[-1] == 7
    assert np.all(np.abs(np.bincount(b) - 25) <= 1)  # equal-count bins on the fitted values
    lo, hi = TOK.bin_range("params", 3)
    assert lo <= values[b.index(3)] < hi
    assert SGTokenizer.from_json(TOK.to_json()) == TOK


def test_tokenizer_errors_name_the_problem():
    with pytest.raises(ConfigError, match="unknown condition field 'zen'"):
        TOK.condition_ids({"zen": 1.0})
    with pytest.raises(ConfigError, match="not a finite number"):
        TOK.condition_ids({"params": float("nan")})
    with pytest.raises(InvalidSequenceError, match="cluster 7 is not among"):
        TOK.body_ids(HLSequence((HLLayer(7, 64, 1),)))
    with pytest.raises(InvalidSequenceError, match="no <eos>"):
        TOK.decode_body([TOK.cluster_offset])
    with pytest.raises(InvalidSequenceError, match="not whole"):
        TOK.decode_body([TOK.cluster_offset, EOS])
    with pytest.raises(InvalidSequenceError, match="not \\(cluster, channels, stride\\)"):
        TOK.decode_body([TOK.channel_offset, TOK.channel_offset, TOK.stride_offset, EOS])
    with pytest.raises(ConfigError, match="no finite value"):
        SGTokenizer.fit({"params": [np.nan]}, 4, 2)


def test_grammar_masks_by_position():
    g = GrammarLogitsProcessor(TOK)
    r = TOK.token_ranges()
    prompt = TOK.condition_ids({"params": 5e5})
    triple = [TOK.cluster_offset, TOK.channel_offset + 3, TOK.stride_offset]
    cases = {
        (): set(r["cluster"]),  # no empty network
        tuple(triple[:1]): set(r["channels"]),
        tuple(triple[:2]): set(r["stride"]),
        tuple(triple): set(r["cluster"]) | {EOS},
        tuple(triple * MAX_LAYERS): {EOS},
    }
    for body, want in cases.items():
        allowed = g.allowed(torch.tensor([prompt + list(body)]))[0]
        assert set(torch.nonzero(allowed).flatten().tolist()) == want
    scores = g(torch.tensor([prompt + triple]), torch.zeros(1, TOK.vocab_size + 10))
    assert torch.isinf(scores[0, TOK.vocab_size :]).all()  # a base model's extra vocabulary is never chosen


def test_grammar_makes_every_sample_of_an_untrained_model_parse():
    model = build(TOK, TINY)
    out = generate(model, TOK, {"params": 3e5}, n=1000, seed=1)
    assert set(out.errors) == {None} and len(out.valid) == 1000
    assert {1 <= len(s.layers) <= MAX_LAYERS for s in out.valid} == {True}
    assert len({s.seq_id for s in out.valid}) > 900  # untrained: near-uniform over the grammar
    again = sample_bodies(model, TOK, {"params": 3e5}, n=5, seed=1)
    assert again == sample_bodies(model, TOK, {"params": 3e5}, n=5, seed=1)  # seeded


def test_condition_dropping_and_collate():
    rng = np.random.default_rng(0)
    cond = {"params": 1.0, "flops": 2.0, "tcet": 3.0}
    assert drop_condition(cond, 0.0, rng) == cond and drop_condition(cond, 1.0, rng) == {}
    kept = np.mean([len(drop_condition(cond, 0.3, rng)) for _ in range(4000)]) / 3
    assert abs(kept - 0.7) < 0.02
    seq = HLSequence((HLLayer(1, 64, 1), HLLayer(2, 128, 2)))
    rows = [TOK.encode(seq, cond), TOK.encode(seq, {})]
    b = collate(rows)
    assert b["input_ids"].shape == (2, len(rows[0])) and b["attention_mask"][1].sum() == len(rows[1])
    for i, r in enumerate(rows):  # labels: only the tokens after <sep>
        body = r.index(SEP) + 1
        assert (b["labels"][i, :body] == IGNORE).all() and b["labels"][i, body : len(r)].tolist() == r[body:]


def test_split_is_by_distinct_sequence():
    seqs = [HLSequence((HLLayer(k, 64, 1),)) for k in range(K)]
    ex = [Example(seqs[i % K], {"params": float(i)}) for i in range(50)]
    tr, va = split(ex, 0.2, 0)
    assert len(va) == 10 and not {ex[i].seq.seq_id for i in tr} & {ex[i].seq.seq_id for i in va}


def test_training_learns_which_design_goes_with_which_condition():
    small = HLSequence((HLLayer(0, 16, 1), HLLayer(1, 32, 2)))
    big = HLSequence((HLLayer(3, 256, 1), HLLayer(4, 512, 2), HLLayer(2, 512, 1)))
    ex = [Example(small, {"params": 2e4, "flops": 2e6, "tcet": 60.0}) for _ in range(40)]
    ex += [Example(big, {"params": 9e5, "flops": 8e8, "tcet": 290.0}) for _ in range(40)]
    cfg = TINY.model_copy(update={"epochs": 40, "patience": 40, "val_fraction": 0.0, "drop_condition": 0.3})
    model, hist = train(ex, TOK, cfg)
    assert hist.train_loss[-1] < 0.2 * hist.train_loss[0]
    assert generate(model, TOK, {"params": 2e4}, 1, decoding="greedy").valid == [small]
    assert generate(model, TOK, {"params": 9e5}, 1, decoding="greedy").valid == [big]
    assert generate(model, TOK, {"tcet": 290.0}, 1, decoding="greedy").valid == [big]  # any subset of fields
    again = restore(model.config.to_dict(), state_dict(model), "memory")
    assert generate(again, TOK, {"flops": 2e6}, 1, decoding="greedy").valid == [small]


def test_training_needs_data():
    with pytest.raises(ConfigError, match="at least 2 history rows"):
        train([], TOK, TINY)


def test_base_model_is_a_local_checkpoint_resized_to_the_sg_vocabulary(tmp_path):
    from transformers import GPTNeoConfig, GPTNeoForCausalLM

    def checkpoint(name: str, positions: int) -> str:
        cfg = GPTNeoConfig(vocab_size=500, max_position_embeddings=positions, hidden_size=32, num_layers=2,
                           num_heads=2, attention_types=[[["global", "local"], 1]])  # fmt: skip
        GPTNeoForCausalLM(cfg).save_pretrained(tmp_path / name)
        return str(tmp_path / name)

    path = checkpoint("neo", 128)
    base = GPTNeoForCausalLM.from_pretrained(path, local_files_only=True)
    model = build(TOK, TINY.model_copy(update={"base_model": path}))
    assert model.config.vocab_size == TOK.vocab_size and model.config.num_layers == 2  # the checkpoint's depth
    assert torch.equal(model.transformer.h[1].mlp.c_fc.weight, base.transformer.h[1].mlp.c_fc.weight)
    assert len(generate(model, TOK, {"params": 1e5}, 20).valid) == 20
    with pytest.raises(ArtifactMissingError, match="not a local GPT-Neo checkpoint"):
        build(TOK, TINY.model_copy(update={"base_model": str(tmp_path / "absent")}))
    with pytest.raises(CorruptArtifactError, match="HL sequences need"):
        build(TOK, TINY.model_copy(update={"base_model": checkpoint("short", 16)}))
