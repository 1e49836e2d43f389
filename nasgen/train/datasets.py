"""Dataset registry for training generated networks: name -> train/test tensors, input shape, classes.

- ``digits``: scikit-learn's 8x8 digits (shipped with the package, so it works offline), upscaled bilinearly
  to ``size`` x ``size``, one channel, standardised; a fixed stratified split. The CPU dataset of the README.
- ``synthetic``: class-dependent patterns plus noise, for tests (any shape, any class count).
- ``cifar10`` / ``cifar100``: the *binary* distributions (``cifar-10-batches-bin/``, ``cifar-100-binary/``)
  under a local root, read with numpy. Never downloaded; a missing root is a clear error. (torchvision would
  read the pickled python version; its PyPI wheel does not load against the CPU torch build used here.)
- ``fashion_mnist``: Zalando's four idx.gz files (60,000 training and 10,000 test images, 28x28, one channel,
  10 balanced classes), by default where Debian's ``dataset-fashion-mnist`` installs them (``make data``), else
  ``$NASGEN_FASHION_MNIST`` or a given root. The paper's real-task ground truth on a CPU (DESIGN section 9).
- ``imagenet``: an ImageFolder layout (``<root>/train/<class>/*``, ``<root>/val/<class>/*``), decoded lazily
  with PIL per item (resized to ``size``, normalised with the usual ImageNet channel statistics).
The in-memory datasets are float tensors (N, C, H, W) normalised per channel with the training split's
statistics, and int64 labels; all are torch Datasets, so one DataLoader-based loop trains on any of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils import data

from nasgen.errors import ArtifactMissingError, ConfigError, CorruptArtifactError
from nasgen.train.config import DatasetConfig
from nasgen.train.idx import read_idx

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR_SHAPE = (3, 32, 32)
CIFAR_PIXELS = 3 * 32 * 32
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist (Expat licence)
FASHION_MNIST_ENV = "NASGEN_FASHION_MNIST"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_MNIST_SHAPE = (28, 28)
FASHION_MNIST_CLASSES = 10
DATASETS = ("digits", "synthetic", "fashion_mnist", "cifar10", "cifar100", "imagenet")


@dataclass(frozen=True)
class Dataset:
    name: str
    train: data.Dataset
    test: data.Dataset
    input_shape: tuple[int, int, int]
    classes: int
    val: data.Dataset | None = None  # carved out of the training split (model selection never sees the test set)


def with_validation(ds: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """``ds`` with a stratified ``fraction`` of its training split held out as the validation split."""
    if not 0 < fraction < 1:
        raise ConfigError(f"validation fraction must be in (0, 1), got {fraction}")
    labels = np.asarray(_labels(ds.train))
    tr, va = _split(len(labels), labels, fraction, seed)
    return replace(ds, train=data.Subset(ds.train, tr.tolist()), val=data.Subset(ds.train, va.tolist()))


def training_subset(ds: Dataset, n: int, seed: int = 0) -> Dataset:
    """``ds`` with a stratified subset of ``n`` images of its training split (a reduced-fidelity run)."""
    labels = np.asarray(_labels(ds.train))
    if not 2 <= n <= len(labels):
        raise ConfigError(f"a training subset of {n} images: the training split has {len(labels)}")
    _, keep = _split(len(labels), labels, n / len(labels), seed)
    return replace(ds, train=data.Subset(ds.train, keep.tolist()))


def _labels(d: data.Dataset) -> list[int]:
    if isinstance(d, data.TensorDataset):
        return d.tensors[1].tolist()
    if isinstance(d, ImageFolder):
        return d.labels
    if isinstance(d, data.Subset):
        inner = _labels(d.dataset)
        return [inner[i] for i in d.indices]
    raise ConfigError(f"cannot split a {type(d).__name__}: its labels are not known without reading it")


class ImageFolder(data.Dataset):
    """Files of an ImageFolder split, decoded on access (the whole of ImageNet never sits in memory)."""

    def __init__(self, files: list[Path], labels: list[int], size: int):
        self.files, self.labels, self.size = files, labels, size
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        with Image.open(self.files[i]) as im:
            x = np.asarray(im.convert("RGB").resize((self.size, self.size)), dtype=np.float32) / 255.0
        return (torch.from_numpy(x).permute(2, 0, 1) - self.mean) / self.std, self.labels[i]


def load_dataset(name: str, root: str | None = None, size: int | None = None, seed: int = 0,
                 synthetic_shape: tuple[int, int, int] = (3, 16, 16), synthetic_classes: int = 4,
                 synthetic_samples: int = 256) -> Dataset:  # fmt: skip
    if name == "digits":
        return _normalised(name, *_digits(size or 16, seed), classes=10)
    if name == "synthetic":
        return _normalised(name, *_synthetic(synthetic_shape, synthetic_classes, synthetic_samples, seed),
                           classes=synthetic_classes)  # fmt: skip
    if name == "fashion_mnist":
        return _normalised(name, *_fashion_mnist(fashion_mnist_root(root), size), classes=FASHION_MNIST_CLASSES)
    if name in ("cifar10", "cifar100"):
        return _normalised(name, *_cifar(name, _root(name, root)), classes=10 if name == "cifar10" else 100)
    if name == "imagenet":
        return _imagenet(_root(name, root), size or 224)
    raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def prepared(cfg: DatasetConfig, seed: int = 0) -> Dataset:
    """The dataset ``cfg`` names with its validation split and training subset carved out (split seed: the
    config's, else ``seed``): what a training run of that config sees."""
    ds = load_dataset(cfg.name, cfg.root, cfg.size, seed=seed)
    split_seed = seed if cfg.split_seed is None else cfg.split_seed
    if cfg.val_fraction:
        ds = with_validation(ds, cfg.val_fraction, split_seed)
    if cfg.train_subset is not None:
        ds = training_subset(ds, cfg.train_subset, split_seed)
    return ds


def _root(name: str, root: str | None) -> Path:
    if root is None:
        raise ConfigError(f"dataset {name!r} is read from local disk: give its root directory (nothing is downloaded)")
    path = Path(root)
    if not path.is_dir():
        raise ArtifactMissingError(f"dataset root {path} for {name!r} does not exist (nothing is downloaded)")
    return path


def _normalised(name: str, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray,
                classes: int) -> Dataset:  # fmt: skip
    x_tr, x_te = (torch.as_tensor(a, dtype=torch.float32) for a in (x_tr, x_te))
    mean = x_tr.mean(dim=(0, 2, 3), keepdim=True)
    std = x_tr.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    train = data.TensorDataset((x_tr - mean) / std, torch.as_tensor(y_tr, dtype=torch.long))
    test = data.TensorDataset((x_te - mean) / std, torch.as_tensor(y_te, dtype=torch.long))
    return Dataset(name, train, test, tuple(x_tr.shape[1:]), classes)


def _split(n: int, y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified split: the same share of every class in the test set."""
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: int(round(test_fraction * (y == c).sum()))]
                           for c in np.unique(y)])  # fmt: skip
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _digits(size: int, seed: int):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 16.0
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).numpy()
    tr, te = _split(len(x), d.target, 0.2, seed)
    return x[tr], d.target[tr], x[te], d.target[te]


def _synthetic(shape: tuple[int, int, int], classes: int, samples: int, seed: int):
    """Each class is a fixed random pattern; samples add unit noise (learnable, not trivially separable)."""
    rng = np.random.default_rng(seed)
    patterns = rng.normal(0, 1, (classes, *shape))
    y = np.arange(samples) % classes
    x = patterns[y] + rng.normal(0, 1.0, (samples, *shape))
    tr, te = _split(samples, y, 0.25, seed)
    return x[tr], y[tr], x[te], y[te]


def fashion_mnist_root(root: str | None = None) -> Path:
    """Where Fashion-MNIST is read: ``root``, else ``$NASGEN_FASHION_MNIST``, else Debian's directory."""
    path = Path(root or os.environ.get(FASHION_MNIST_ENV) or FASHION_MNIST_ROOT)
    missing = [f for pair in FASHION_MNIST_FILES.values() for f in pair if not (path / f).is_file()]
    if missing:
        raise ArtifactMissingError(
            f"Fashion-MNIST not found: {', '.join(missing)} missing under {path}. Install Debian's package "
            f"(`apt-get install dataset-fashion-mnist`, or `make data`), or point --root or ${FASHION_MNIST_ENV} at "
            "Zalando's four idx.gz files (nothing is downloaded)"
        )
    return path


def _fashion_mnist(root: Path, size: int | None = None):
    """Both splits as (N, 1, H, W) floats in [0, 1] and int64 labels, checked: images and labels agree in
    count, images are 28x28 bytes, labels lie in 0..9 and the training split has every class."""
    parts = []
    for split, (images_file, labels_file) in FASHION_MNIST_FILES.items():
        x, y = read_idx(root / images_file), read_idx(root / labels_file)
        if x.ndim != 3 or x.shape[1:] != FASHION_MNIST_SHAPE or x.dtype != np.uint8:
            raise CorruptArtifactError(f"{root / images_file}: expected N x 28 x 28 bytes, got {x.shape} {x.dtype}")
        if y.ndim != 1 or len(y) != len(x):
            raise CorruptArtifactError(f"{root / labels_file}: {y.shape} labels for {len(x)} {split} images")
        if len(y) and (y.min() < 0 or y.max() >= FASHION_MNIST_CLASSES):
            raise CorruptArtifactError(f"{root / labels_file}: labels outside 0..9 ({y.min()}..{y.max()})")
        if split == "train" and len(np.unique(y)) != FASHION_MNIST_CLASSES:
            raise CorruptArtifactError(f"{root / labels_file}: the training split lacks classes of the 10")
        images = torch.from_numpy(x.astype(np.float32) / 255.0)[:, None]
        if size is not None and size != FASHION_MNIST_SHAPE[0]:
            images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        parts += [images.numpy(), y.astype(np.int64)]
    return parts[0], parts[1], parts[2], parts[3]


def _cifar(name: str, root: Path):
    """The binary CIFAR files: records of label byte(s) then 3072 pixel bytes (R, G, B planes)."""
    if name == "cifar10":
        base, label_bytes, label_at = root / "cifar-10-batches-bin", 1, 0
        train_files = [base / f"data_batch_{i}.bin" for i in range(1, 6)]
        test_files = [base / "test_batch.bin"]
    else:
        base, label_bytes, label_at = root / "cifar-100-binary", 2, 1  # (coarse, fine): the fine label
        train_files, test_files = [base / "train.bin"], [base / "test.bin"]
    parts = []
    for files in (train_files, test_files):
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise ArtifactMissingError(f"{name} binary files missing under {root}: {missing[:2]} (nothing is "
                                       "downloaded; unpack the binary version there)")  # fmt: skip
        raw = np.concatenate([np.fromfile(f, dtype=np.uint8) for f in files])
        record = label_bytes + CIFAR_PIXELS
        if len(raw) % record:
            raise CorruptArtifactError(f"{name} files under {base} are not whole {record}-byte records")
        raw = raw.reshape(-1, record)
        parts += [raw[:, label_bytes:].reshape(-1, *CIFAR_SHAPE) / 255.0, raw[:, label_at].astype(np.int64)]
    return parts[0], parts[1], parts[2], parts[3]


def _imagenet(root: Path, size: int) -> Dataset:
    splits = []
    classes: list[str] = []
    for split in ("train", "val"):
        d = root / split
        if not d.is_dir():
            raise ArtifactMissingError(f"imagenet split {d} does not exist (expected an ImageFolder layout)")
        classes = classes or sorted(p.name for p in d.iterdir() if p.is_dir())
        files, labels = [], []
        for label, c in enumerate(classes):
            for f in sorted((d / c).iterdir()) if (d / c).is_dir() else []:
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    files.append(f)
                    labels.append(label)
        if not files:
            raise ArtifactMissingError(f"no images under {d}")
        splits.append(ImageFolder(files, labels, size))
    return Dataset("imagenet", splits[0], splits[1], (3, size, size), len(classes))
