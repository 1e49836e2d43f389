"""The vendored NAS-Bench-201 ground truth (sources and licences in ``data/README.md``).

``accuracy_table``: CIFAR-10 validation/test top-1 after NB201's 200-epoch training and params of all 15,625
architectures, indexed like ``nasgen.nb201.arch.to_index``. ``naslib_proxies``: NASLib's proxy values
(real CIFAR-10 batches) for 491 of them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import pandas as pd

from nasgen.errors import CorruptArtifactError
from nasgen.nb201.arch import SPACE_SIZE, from_naslib, parse, to_index, to_string

ACCURACY_FILE = "nb201_cifar10_accuracy.parquet"
NASLIB_FILE = "naslib_zc_nasbench201_cifar10.json"
# Spearman over all 15,625 architectures, NB201 network, real CIFAR-10 data (Abdelfattah et al., ICLR 2021)
PUBLISHED_SPEARMAN = {"grad_norm": 0.594, "snip": 0.596, "grasp": 0.514, "fisher": 0.36, "synflow": 0.737,
                      "jacob_cov": 0.731}  # fmt: skip


def _path(name: str):
    return resources.files("nasgen.nb201").joinpath("data", name)


@lru_cache(maxsize=1)
def accuracy_table() -> pd.DataFrame:
    """Columns arch (NB201 string), params_m, valid_top1, test_top1; row i is architecture index i."""
    df = pd.read_parquet(_path(ACCURACY_FILE))
    ops = [parse(a) for a in df["arch"]]
    df = df.assign(index=[to_index(o) for o in ops], arch=[to_string(o) for o in ops])
    df = df.set_index("index").sort_index()
    if len(df) != SPACE_SIZE or not df.index.equals(pd.RangeIndex(SPACE_SIZE)):
        raise CorruptArtifactError(f"{ACCURACY_FILE} does not hold each of the {SPACE_SIZE} NB-201 architectures once")
    return df


@lru_cache(maxsize=1)
def naslib_proxies() -> pd.DataFrame:
    """NASLib's stored proxies and val_accuracy, one row per architecture, indexed like ``accuracy_table``."""
    data = json.loads(_path(NASLIB_FILE).read_text())["nasbench201"]["cifar10"]
    rows = [{"index": to_index(from_naslib(k)), **v} for k, v in data.items()]
    return pd.DataFrame(rows).set_index("index").sort_index()
