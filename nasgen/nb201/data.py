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


# Published NB201 CIFAR-10 search results, (validation mean, std, test mean, std) of the returned architecture.
# NB201's runs searched on its 12-epoch validation accuracy; ours search on the final one (an easier oracle).
PUBLISHED_SEARCH: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "GraphPNAS Table 5 (10 runs, ~150 queries)": {
        "random": (91.07, 0.26, 93.86, 0.23), "rea": (91.25, 0.31, 94.02, 0.31),
        "reinforce": (91.12, 0.25, 93.90, 0.26), "graphpnas": (91.47, 0.15, 94.28, 0.17),
    },
    "dissertation Table 3.3 (500 runs, 12,000 s)": {
        "random": (90.94, 0.38, 93.75, 0.37), "rea": (91.08, 0.43, 93.84, 0.43),
        "reinforce": (91.03, 0.33, 93.82, 0.31), "arch2vec_rl": (91.32, 0.42, 94.12, 0.42),
        "arch2vec_bo": (91.41, 0.22, 94.18, 0.24),
    },
    "NASWOT Table 2a (Mellor et al. 2021, 500 runs)": {
        "random": (90.93, 0.36, 93.70, 0.36), "rea": (91.19, 0.31, 93.92, 0.30),
        "reinforce": (91.09, 0.37, 93.85, 0.37), "naswot-10": (89.14, 1.14, 92.44, 1.13),
        "naswot-100": (89.55, 0.89, 92.81, 0.99), "naswot-1000": (89.69, 0.73, 92.96, 0.81),
    },
}  # fmt: skip
OPTIMUM = {"valid_top1": 91.61, "test_top1": 94.37}


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
