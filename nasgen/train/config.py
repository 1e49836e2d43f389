"""Training of generated networks: recipes, datasets, final selection."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nasgen.frozen import Frozen


class TrainRecipe(Frozen):
    """Training of a chosen network (ZenNAS-style SGD: Nesterov, linear warm-up then cosine, label smoothing)."""

    epochs: int = Field(200, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(0.1, gt=0)  # peak, reached after the warm-up
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = True
    weight_decay: float = Field(5e-4, ge=0)
    warmup_epochs: float = Field(5, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    crop_padding: int = Field(0, ge=0)  # random crop of the zero-padded image (CIFAR: 4)
    hflip: bool = False  # random horizontal flip (not for digits: a flipped digit is another symbol)
    amp: bool = True  # bfloat16 autocast, CUDA only
    channels_last: bool = True  # CUDA only
    eval_batch_size: int = Field(512, ge=1)
    test_every: int = Field(1, ge=1)  # epochs between test evaluations (always after the last): cheap learning curves
    stop_after: int | None = Field(None, ge=1)  # only the first epochs of this schedule: the partial run of LCE
    num_workers: int = Field(0, ge=0)
    seed: int = 0


class DatasetConfig(Frozen):
    """Which dataset a network is trained on (nasgen.train.datasets): local only, never downloaded."""

    name: Literal["digits", "synthetic", "fashion_mnist", "cifar10", "cifar100", "imagenet"] = "digits"
    root: str | None = None  # directory holding the data (fashion_mnist: Debian's by default; cifar10/100, imagenet)
    size: int | None = Field(None, ge=4)  # image side: digits (default 16), fashion_mnist (28), imagenet (224)
    val_fraction: float = Field(0.0, ge=0, lt=1)  # of the training split held out for model selection
    train_subset: int | None = Field(None, ge=2)  # a stratified subset of the (remaining) training split: reduced runs
    split_seed: int | None = None  # of the validation split and the subset; None: the recipe's seed


class SelectionConfig(Frozen):
    """Final model selection among generated networks (paper Section 5, Appendix F.1)."""

    # reduced: train the top-N briefly, keep the best on validation; lce: train the top-N for the first E_few epochs
    # of a curve table's recipe, keep the best final validation accuracy LcSVR extrapolates from them
    strategy: Literal["tcet", "reduced", "lce"] = "tcet"
    top_n: int = Field(3, ge=1)
    reduced_fraction: float = Field(0.1, gt=0, le=1)  # of the recipe's epochs, for the short runs
    val_fraction: float = Field(0.1, gt=0, lt=1)  # held out of the training split for the short runs
    # lce: a `curves` artifact URI: its recipe and data for the partial runs, its curves for the extrapolator
    # (the profile's `lce` section: LcSVR or WPM, E_few)
    curves: str | None = None


RECIPES: dict[str, TrainRecipe] = {
    "cifar10": TrainRecipe(epochs=600, batch_size=256, lr=0.2, crop_padding=4, hflip=True),
    "cifar100": TrainRecipe(epochs=600, batch_size=256, lr=0.2, crop_padding=4, hflip=True),
    "imagenet": TrainRecipe(epochs=240, batch_size=512, lr=0.2, weight_decay=4e-5, hflip=True),
    "digits": TrainRecipe(epochs=20, batch_size=64, lr=0.05, warmup_epochs=1, label_smoothing=0.0),
    # a starting point on 2 CPU cores until the fidelity study fixes the CPU protocol (docs: training)
    "fashion_mnist": TrainRecipe(epochs=10, batch_size=128, lr=0.05, warmup_epochs=1, label_smoothing=0.0, hflip=True),
    "synthetic": TrainRecipe(epochs=30, batch_size=32, lr=0.05, warmup_epochs=0, label_smoothing=0.0),
}
