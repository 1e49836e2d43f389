"""Fashion-MNIST: the idx reader (round trips, malformed files), the dataset on small synthetic idx files in
the real files' layout, and on the real files (Debian's dataset-fashion-mnist; `make data` installs them, CI
too) against the figures everyone normalises with (mean 0.2860, std 0.3530) and Zalando's counts."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nasgen.errors import ArtifactMissingError, CorruptArtifactError
from nasgen.train.datasets import (
    FASHION_MNIST_ENV,
    FASHION_MNIST_FILES,
    FASHION_MNIST_ROOT,
    load_dataset,
    with_validation,
)
from nasgen.train.idx import read_idx, write_idx

REAL = Path(FASHION_MNIST_ROOT)
INSTALLED = all((REAL / f).is_file() for pair in FASHION_MNIST_FILES.values() for f in pair)


@given(
    arrays(
        st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
        st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    ),  # fmt: skip
    st.booleans(),
)
def test_idx_round_trip(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == array.shape and back.dtype.newbyteorder("=") == array.dtype.newbyteorder("=")
    assert np.array_equal(back, array, equal_nan=array.dtype.kind == "f")


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (b"", "not an idx file"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x02ab", "not an idx file"),  # magic must start with two zero bytes
        (b"\x00\x00\x08\x02\x00\x00\x00\x02", "cut short"),  # 2 dimensions announced, 1 given
        (b"\x00\x00\x08\x01\x00\x00\x00\x03ab", "bytes of values"),  # 3 values announced, 2 given
    ],
)
def test_a_malformed_idx_file_is_named(tmp_path, blob, why):
    path = tmp_path / "bad-idx1-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(blob)
    with pytest.raises(CorruptArtifactError, match=why) as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_a_file_that_is_not_gzip_is_named(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(b"plain bytes, not gzip")
    with pytest.raises(CorruptArtifactError, match="not a readable idx file"):
        read_idx(path)


def fake_fashion(root: Path, n_train: int = 40, n_test: int = 20, labels=None) -> Path:
    """Zalando's four files, small: class c's images are filled with the value 10 * c."""
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        y = np.arange(n, dtype=np.uint8) % 10 if labels is None else np.asarray(labels[split], dtype=np.uint8)
        x = np.repeat((10 * y)[:, None, None], 28, axis=1).repeat(28, axis=2).astype(np.uint8)
        images, label_file = FASHION_MNIST_FILES[split]
        write_idx(root / images, x)
        write_idx(root / label_file, y)
    return root


def test_the_dataset_reads_the_files_and_holds_out_a_stratified_validation_split(tmp_path):
    ds = load_dataset("fashion_mnist", root=str(fake_fashion(tmp_path / "fm")))
    assert ds.input_shape == (1, 28, 28) and ds.classes == 10
    x, y = ds.train.tensors
    assert x.shape == (40, 1, 28, 28) and len(ds.test) == 20
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 0.02  # standardised by the training split
    assert (y == (np.arange(40) % 10)).all()
    split = with_validation(ds, 0.25)
    val_labels = [int(split.val[i][1]) for i in range(len(split.val))]
    assert sorted(val_labels) == sorted(list(range(10)))  # one of each class: 25% of 4 per class


def test_the_environment_variable_points_elsewhere_and_a_size_resizes(tmp_path, monkeypatch):
    monkeypatch.setenv(FASHION_MNIST_ENV, str(fake_fashion(tmp_path / "elsewhere")))
    ds = load_dataset("fashion_mnist", size=16)
    assert ds.input_shape == (1, 16, 16)


def test_missing_files_name_the_package_to_install(tmp_path):
    with pytest.raises(ArtifactMissingError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", root=str(tmp_path))


@pytest.mark.parametrize(
    ("labels", "why"),
    [
        ({"train": [0, 1, 2, 3, 4, 5, 6, 7, 8, 12], "test": [0, 1]}, "labels outside 0..9"),
        ({"train": [0] * 10, "test": [0, 1]}, "lacks classes"),
    ],
)
def test_bad_labels_are_refused(tmp_path, labels, why):
    root = fake_fashion(tmp_path / "fm", n_train=10, n_test=2, labels=labels)
    with pytest.raises(CorruptArtifactError, match=why):
        load_dataset("fashion_mnist", root=str(root))


def test_labels_of_another_count_than_the_images_are_refused(tmp_path):
    root = fake_fashion(tmp_path / "fm")
    write_idx(root / FASHION_MNIST_FILES["test"][1], np.zeros(19, dtype=np.uint8))
    with pytest.raises(CorruptArtifactError, match="labels for 20 test images"):
        load_dataset("fashion_mnist", root=str(root))


def test_a_zero_cost_batch_of_fashion_mnist_images(tmp_path):
    from nasgen.zc.common import make_batch
    from nasgen.zc.config import ZCConfig

    cfg = ZCConfig(data="fashion_mnist", data_root=str(fake_fashion(tmp_path / "fm")), batch_size=4, resolution=8)
    batch = make_batch(cfg)
    assert batch.inputs.shape == (4, 3, 8, 8) and set(batch.targets.tolist()) <= set(range(10))


@pytest.mark.skipif(not INSTALLED, reason="Debian's dataset-fashion-mnist is not installed (make data)")
def test_the_real_files_are_zalandos():
    x, y = read_idx(REAL / FASHION_MNIST_FILES["train"][0]), read_idx(REAL / FASHION_MNIST_FILES["train"][1])
    t = read_idx(REAL / FASHION_MNIST_FILES["test"][1])
    assert x.shape == (60_000, 28, 28) and len(t) == 10_000
    assert (np.bincount(y) == 6_000).all() and (np.bincount(t) == 1_000).all()
    pixels = x.astype(np.float64) / 255
    assert abs(pixels.mean() - 0.2860) < 1e-4 and abs(pixels.std() - 0.3530) < 1e-4
    ds = load_dataset("fashion_mnist")
    assert len(ds.train) == 60_000 and len(ds.test) == 10_000 and ds.input_shape == (1, 28, 28)


def test_a_training_subset_is_stratified_and_checked(tmp_path):
    from nasgen.errors import ConfigError
    from nasgen.train.datasets import training_subset

    ds = with_validation(load_dataset("fashion_mnist", root=str(fake_fashion(tmp_path / "fm", n_train=60))), 1 / 6)
    sub = training_subset(ds, 20, seed=3)
    labels = [int(sub.train[i][1]) for i in range(len(sub.train))]
    assert len(labels) == 20 and np.bincount(labels).tolist() == [2] * 10  # 2 of each class
    assert sub.val is ds.val and sub.test is ds.test
    with pytest.raises(ConfigError, match="training split has 50"):
        training_subset(ds, 51)
