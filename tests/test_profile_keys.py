"""Store keys are the cache: moving or reformatting configs must not change a single one.

``tests/data/profile_keys.json`` was written by ``python -m tests.test_profile_keys`` before configs moved
beside their code and profiles became YAML files; every profile's keys must still equal it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasgen.config import get_profile
from nasgen.stages import pipeline, registry

SNAPSHOT = Path(__file__).parent / "data" / "profile_keys.json"
PROFILE_NAMES = ("tiny", "smoke", "demo", "paper")
CONFIG_ONLY = ("arch2vec", "cate", "nb201_proxies", "graphpnas")  # stages keyed by their config alone


def profile_keys(name: str) -> dict:
    prof = get_profile(name)
    out: dict = {"pretrain": pipeline.keys(prof)}
    for s in CONFIG_ONLY:
        st = registry.stage(s)
        out[s] = st.key(cfg=getattr(prof, st.section))
    return out


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_store_keys_unchanged(name):
    assert profile_keys(name) == json.loads(SNAPSHOT.read_text())[name]


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps({n: profile_keys(n) for n in PROFILE_NAMES}, indent=1) + "\n")
