"""Exact cost conditions: analytic params/FLOPs replace q's predictions, other components untouched."""

import numpy as np
import pytest

from nasgen.space.cell import Cell
from nasgen.space.config import SamplerConfig
from nasgen.space.sampling import unique_codes
from nasgen.zc.conditions import exact_costs, with_exact_costs
from nasgen.zc.config import ZCConfig
from nasgen.zc.scorer import Scorer
from nasgen.zc.transform import ZCTransform

ZC = ZCConfig(batch_size=2, resolution=8, proxies=("params", "flops"))
CELLS = [Cell.from_code(int(c)) for c in unique_codes(6, 3, SamplerConfig(batch_size=256))[0]]
COMPONENTS = ("naswot", "snip_ssnr", "params", "flops")


@pytest.fixture(scope="module")
def transform():
    rng = np.random.default_rng(0)
    z = np.column_stack([rng.normal(200, 10, 50), rng.lognormal(10, 1, 50), rng.lognormal(13, 1, 50),
                         rng.lognormal(17, 1, 50)])  # fmt: skip
    return ZCTransform.fit(z, COMPONENTS, ("params", "flops"))


def test_exact_costs_are_what_the_scorer_records():
    scorer = Scorer(ZC)
    want = np.array([[scorer.score_cell(c)[k] for k in ("params", "flops")] for c in CELLS])
    np.testing.assert_array_equal(exact_costs(CELLS, ZC), want)


def test_only_the_cost_components_are_replaced(transform):
    predicted = np.random.default_rng(1).normal(size=(len(CELLS), len(COMPONENTS))).astype(np.float32)
    out = with_exact_costs(predicted, CELLS, transform, ZC)
    assert out.dtype == np.float32 and out.shape == predicted.shape
    np.testing.assert_allclose(out[:, :2], predicted[:, :2], atol=1e-5)
    raw = transform.inverse(out)
    np.testing.assert_allclose(raw[:, 2:], exact_costs(CELLS, ZC), rtol=1e-5)


def test_a_transform_without_costs_is_left_alone():
    t = ZCTransform.fit(np.random.default_rng(2).normal(size=(20, 2)), ("naswot", "snip_ssnr"), ())
    cond = np.ones((len(CELLS), 2), dtype=np.float32)
    assert with_exact_costs(cond, CELLS, t, ZC) is cond
