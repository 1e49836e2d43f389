"""Training generated networks: schedule maths, overfitting a small batch, checkpoints, dataset readers."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.errors import ArtifactMissingError, ConfigError, CorruptArtifactError
from nasgen.space.cell import Cell
from nasgen.space.macro import MacroArch
from nasgen.space.network import build_network
from nasgen.train.augment import augment
from nasgen.train.checkpoint import checkpoint_bytes, load_checkpoint
from nasgen.train.config import RECIPES, TrainRecipe
from nasgen.train.datasets import CIFAR_PIXELS, load_dataset
from nasgen.train.loop import evaluate, lr_at, train_network

CELL = Cell.from_graph(["input", "conv_3", "skip", "output"], [(0, 1), (1, 2), (0, 2), (2, 3)])


def tiny_macro(shape=(3, 8, 8), classes=4) -> MacroArch:
    return MacroArch.from_triples([(CELL, 16, 1), (CELL, 32, 2)], shape, classes)


def test_schedule_warms_up_linearly_then_follows_a_cosine_to_zero():
    total, warm, peak = 100, 10, 0.2
    assert lr_at(0, total, warm, peak) == pytest.approx(0.02) and lr_at(9, total, warm, peak) == pytest.approx(peak)
    assert lr_at(10, total, warm, peak) == pytest.approx(peak)
    assert lr_at(55, total, warm, peak) == pytest.approx(peak / 2)  # half-way through the cosine
    assert lr_at(100, total, warm, peak) == pytest.approx(0.0, abs=1e-12)
    lrs = [lr_at(s, total, warm, peak) for s in range(warm, total)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    assert lr_at(0, total, 0, peak) == pytest.approx(peak)  # no warm-up
    assert lr_at(30, total, 0, peak) == pytest.approx(0.5 * peak * (1 + math.cos(math.pi * 0.3)))


def test_a_tiny_generated_network_overfits_a_small_batch():
    ds = load_dataset("synthetic", synthetic_shape=(3, 8, 8), synthetic_classes=4, synthetic_samples=32)
    torch.manual_seed(0)
    net = build_network(tiny_macro())
    recipe = TrainRecipe(epochs=60, batch_size=64, lr=0.05, warmup_epochs=0, label_smoothing=0.0, weight_decay=0)
    rows = train_network(net, ds, recipe)
    assert len(rows) == 60 and rows[-1]["train_top1"] == 1.0 and rows[-1]["train_loss"] < 0.05
    assert rows[-1]["train_loss"] < 0.1 * rows[0]["train_loss"]
    assert {
        "epoch",
        "lr",
        "train_loss",
        "train_top1",
        "val_loss",
        "val_top1",
        "test_loss",
        "test_top1",
        "test_top5",
        "seconds",
    } == set(rows[0]) and math.isnan(rows[0]["val_top1"])  # no validation split asked for
    assert rows[-1]["test_top5"] == 1.0  # 4 classes: top-5 always contains the label


def test_checkpoint_round_trip_and_corruption(tmp_path):
    macro = tiny_macro()
    net = build_network(macro).eval()
    blob = checkpoint_bytes(net, macro)
    again, spec = load_checkpoint(blob)
    x = torch.randn(2, 3, 8, 8)
    assert spec == macro and torch.equal(net(x), again(x))
    with pytest.raises(CorruptArtifactError):
        load_checkpoint(blob[:100])
    other = tiny_macro(classes=7)
    with pytest.raises(CorruptArtifactError, match="do not fit network|does not fit its spec"):
        load_checkpoint(checkpoint_bytes(net, other))


def test_datasets_are_local_and_fail_clearly(tmp_path):
    with pytest.raises(ConfigError, match="give its root directory"):
        load_dataset("cifar10")
    with pytest.raises(ArtifactMissingError, match="does not exist \\(nothing is downloaded\\)"):
        load_dataset("cifar10", root=str(tmp_path / "nowhere"))
    with pytest.raises(ArtifactMissingError, match="cifar10 binary files missing"):
        load_dataset("cifar10", root=str(tmp_path))
    with pytest.raises(ConfigError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")
    assert set(RECIPES) == {"cifar10", "cifar100", "imagenet", "digits", "synthetic", "fashion_mnist"}


def test_digits_are_upscaled_standardised_and_split_by_class():
    ds = load_dataset("digits", size=16)
    assert ds.input_shape == (1, 16, 16) and ds.classes == 10
    x, y = ds.train.tensors
    xt, yt = ds.test.tensors
    assert len(x) + len(xt) == 1797 and abs(len(xt) / 1797 - 0.2) < 0.01
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-2
    train_share = np.bincount(y.numpy(), minlength=10) / len(y)
    test_share = np.bincount(yt.numpy(), minlength=10) / len(yt)
    assert np.abs(train_share - test_share).max() < 0.01


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_binary_records_are_read_exactly(tmp_path, name):
    rng = np.random.default_rng(0)
    if name == "cifar10":
        base, files, label_bytes = tmp_path / "cifar-10-batches-bin", [f"data_batch_{i}.bin" for i in range(1, 6)], 1
        files.append("test_batch.bin")
    else:
        base, files, label_bytes = tmp_path / "cifar-100-binary", ["train.bin", "test.bin"], 2
    base.mkdir()
    written = {}
    for f in files:
        labels = rng.integers(0, 10, (3, label_bytes), dtype=np.uint8)
        pixels = rng.integers(0, 256, (3, CIFAR_PIXELS), dtype=np.uint8)
        np.concatenate([labels, pixels], axis=1).tofile(base / f)
        written[f] = (labels[:, -1], pixels)
    ds = load_dataset(name, root=str(tmp_path))
    test_file = files[-1]
    assert len(ds.train) == 3 * (len(files) - 1) and len(ds.test) == 3 and ds.input_shape == (3, 32, 32)
    assert ds.test.tensors[1].tolist() == written[test_file][0].tolist()  # the fine label for CIFAR-100
    x = ds.test.tensors[0]
    raw = written[test_file][1].reshape(3, 3, 32, 32).astype(np.float64)
    corr = np.corrcoef(x[:, 0].flatten().numpy(), raw[:, 0].flatten())[0, 1]
    assert corr > 0.999  # the same pixels up to the per-channel standardisation
    (base / test_file).write_bytes(b"\x00" * 10)
    with pytest.raises(CorruptArtifactError, match="not whole"):
        load_dataset(name, root=str(tmp_path))


def test_imagenet_folders_decode_lazily(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for c in ("cat", "dog"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (40, 30), (i * 90, 20, 200)).save(tmp_path / split / c / f"{i}.png")
    ds = load_dataset("imagenet", root=str(tmp_path), size=24)
    assert ds.classes == 2 and len(ds.train) == 4 and ds.input_shape == (3, 24, 24)
    x, y = ds.test[3]
    assert x.shape == (3, 24, 24) and y == 1
    net = build_network(tiny_macro((3, 24, 24), 2))
    out = evaluate(net, torch.utils.data.DataLoader(ds.test, batch_size=4), torch.device("cpu"))
    assert 0 <= out["top1"] <= 1 and out["top5"] == 1.0
    with pytest.raises(ArtifactMissingError, match="imagenet split"):
        load_dataset("imagenet", root=str(tmp_path / "train"))


def test_validation_split_is_stratified_and_disjoint():
    from nasgen.train.datasets import with_validation

    ds = with_validation(load_dataset("digits"), 0.1, seed=3)
    tr = [int(i) for i in ds.train.indices]
    va = [int(i) for i in ds.val.indices]
    n = len(ds.train.dataset)
    assert not set(tr) & set(va) and len(tr) + len(va) == n and abs(len(va) / n - 0.1) < 0.01
    y = ds.train.dataset.tensors[1].numpy()
    assert np.abs(np.bincount(y[va], minlength=10) / len(va) - np.bincount(y[tr], minlength=10) / len(tr)).max() < 0.02
    with pytest.raises(ConfigError, match="must be in \\(0, 1\\)"):
        with_validation(ds, 1.5)


def test_selection_strategies():
    from nasgen.train.config import SelectionConfig
    from nasgen.train.selection import Ranked, select

    nets = [MacroArch.from_triples([(CELL, c, 1)], (3, 8, 8), 4) for c in (8, 16, 24, 32)]
    ranked = [Ranked(n, t) for n, t in zip(nets, (5.0, 9.0, 7.0, 1.0))]
    calls = []

    def validate(m):
        calls.append(m)
        return {nets[1]: 0.5, nets[2]: 0.8, nets[0]: 0.8}[m]

    chosen, rows = select(ranked, SelectionConfig(strategy="tcet"), validate)
    assert chosen == nets[1] and calls == [] and [r["tcet"] for r in rows] == [9.0, 7.0, 5.0, 1.0]
    chosen, rows = select(ranked, SelectionConfig(strategy="reduced", top_n=3), validate)
    assert calls == [nets[1], nets[2], nets[0]]  # the top 3 by T-CET, nothing else trained
    assert chosen == nets[2]  # best validation top-1; the tie with nets[0] goes to the better T-CET
    with pytest.raises(ConfigError, match="no generated networks"):
        select([], SelectionConfig(), validate)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(1, 3), h=st.integers(2, 9), pad=st.integers(0, 4), flip=st.booleans(),
       seed=st.integers(0, 1000))  # fmt: skip
def test_augment_is_a_padded_window_of_the_possibly_flipped_image(n, c, h, pad, flip, seed):
    x = torch.randn(n, c, h, h)
    out = augment(x, pad, flip, torch.Generator().manual_seed(seed))
    assert out.shape == x.shape
    assert torch.equal(out, augment(x, pad, flip, torch.Generator().manual_seed(seed)))  # reproducible
    for i in range(n):
        sources = [x[i], x[i].flip(2)] if flip else [x[i]]
        windows = [torch.nn.functional.pad(s, (pad,) * 4)[:, dy : dy + h, dx : dx + h] for s in sources
                   for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)]  # fmt: skip
        assert any(torch.equal(out[i], w) for w in windows)


def test_augment_draws_every_offset_and_both_orientations():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(400, 1, 1, 1)
    out = augment(x, 1, True, torch.Generator().manual_seed(0))
    assert len({tuple(o.flatten().tolist()) for o in out}) == 18  # 9 offsets x 2 orientations
    assert torch.equal(augment(x, 0, False, torch.Generator()), x)


def test_cifar_recipes_augment_and_digits_do_not():
    assert RECIPES["cifar10"].crop_padding == 4 and RECIPES["cifar10"].hflip
    assert RECIPES["digits"].crop_padding == 0 and not RECIPES["digits"].hflip


def test_augmented_training_is_reproducible_and_differs_from_plain():
    ds = load_dataset("synthetic", synthetic_shape=(3, 8, 8), synthetic_classes=4, synthetic_samples=32)
    plain = TrainRecipe(epochs=2, batch_size=16, lr=0.05, warmup_epochs=0)
    aug = plain.model_copy(update={"crop_padding": 2, "hflip": True})

    def losses(recipe):
        torch.manual_seed(0)
        return [r["train_loss"] for r in train_network(build_network(tiny_macro()), ds, recipe)]

    assert losses(aug) == losses(aug) and losses(aug) != losses(plain)
