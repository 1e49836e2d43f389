"""Latency: blocks of a network, the lookup table's sums and interpolation, the predictor's fit and metrics, and
the stages on a small grid."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.errors import ConfigError
from nasgen.latency.config import LatencyModelConfig, LatencyTableConfig, TimingConfig
from nasgen.latency.predictor import LatencyPredictor, accuracy, fit
from nasgen.latency.table import COLUMNS, Block, LatencyTable, block_module, blocks, resolutions
from nasgen.space.cell import Cell
from nasgen.space.cost import count_module, macro_cost
from nasgen.space.macro import MacroArch
from nasgen.space.ops import NUM_OPS, op_by_name
from nasgen.space.sampling import random_macro
from nasgen.stages import latency
from nasgen.stages.registry import run
from nasgen.store import ArtifactStore

FAST = TimingConfig(repeats=3, warmup=1, threads=1)
GRID = (8, 16)


def test_resolutions_halve_rounding_up_to_one():
    assert (
        resolutions(28) == (28, 14, 7, 4, 2, 1) and resolutions(32) == (32, 16, 8, 4, 2, 1) and resolutions(1) == (1,)
    )


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_a_network_is_exactly_its_blocks(seed):
    """The blocks' own params and MACs add up to the network's: nothing is left out or counted twice."""
    m = random_macro(np.random.default_rng(seed), max_layers=5, channels=(8, 16, 24), input_shape=(1, 12, 12),
                     classes=3)  # fmt: skip
    counted = [count_module(block_module(b), (b.cin, b.resolution, b.resolution)) for b in blocks(m)]
    cost = macro_cost(m)
    assert sum(c.params for c in counted) == cost.params and sum(c.flops for c in counted) == cost.flops
    assert sum(b.kind == "op" for b in blocks(m)) == sum(len(x.cell.ops) for x in m.layers)


def _frame(value) -> pd.DataFrame:
    """A synthetic table over GRID for input (1, 4, 4) and 3 classes, latency ``value(block)``."""
    from nasgen.latency.table import grid_blocks

    rows = [{"kind": b.kind, "op": b.op, "stride": b.stride, "cin": b.cin, "cout": b.cout, "resolution": b.resolution,
             "median_ms": value(b), "p10_ms": 0.0, "p90_ms": 0.0}
            for b in grid_blocks((1, 4, 4), 3, (8, 16, 32))]  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_interpolation_is_exact_for_a_power_law_and_grid_entries_are_returned_as_measured():
    table = LatencyTable(_frame(lambda b: 1e-3 * (b.op + 1) * b.cin**2 * b.resolution))
    for c in (8, 12, 16, 24, 32, 40):  # on the grid, between grid points, beyond it
        assert table.lookup(Block("op", 5, 1, c, c, 4)) == pytest.approx(6e-3 * c**2 * 4, rel=1e-9)
    proj = LatencyTable(_frame(lambda b: 1e-3 * b.cin * b.cout))
    assert proj.lookup(Block("projection", -1, 2, 12, 24, 4)) == pytest.approx(1e-3 * 12 * 24)
    with pytest.raises(KeyError, match="no op block at resolution 9"):
        table.lookup(Block("op", 5, 1, 8, 8, 9))


def test_the_sum_of_a_one_operation_network_is_its_entries():
    table = LatencyTable(_frame(lambda b: 1.5 + b.op + 0.01 * b.cin + 0.1 * b.resolution + 0.001 * b.cout))
    cell = Cell.from_graph(["input", "conv_3", "output"], [(0, 1), (1, 2)])
    m = MacroArch.from_triples([(cell, 16, 2)], (1, 4, 4), 3)
    total, n = table.network_sum(m)
    entry = lambda **k: float(table.frame.query(" and ".join(f"{a} == {v!r}" for a, v in k.items())).median_ms.iloc[0])  # noqa: E731
    expected = (entry(kind="stem", cout=16) + entry(kind="projection", stride=2, cin=16, cout=16, resolution=4)
                + entry(kind="op", op=op_by_name("conv_3").index, cin=16, resolution=2)
                + entry(kind="head", cin=16, resolution=2))  # fmt: skip
    assert n == 4 and total == pytest.approx(expected, rel=1e-12)


def test_the_fit_recovers_a_known_correction_and_accuracy_counts_as_nn_meter_does():
    rng = np.random.default_rng(0)
    sums, counts = rng.uniform(1, 50, 40), rng.integers(3, 60, 40)
    measured = 1.3 * sums + 0.02 * counts + 0.4  # exact: any weighting recovers it
    p = fit(None, sums, counts, measured)
    assert (p.per_ms, p.per_block_ms, p.intercept_ms) == pytest.approx((1.3, 0.02, 0.4), rel=1e-6)
    a = accuracy(np.array([1.0, 1.04, 1.2, 2.0]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert a["within_10pct"] == 0.5 and a["within_5pct"] == 0.5 and a["mape"] == pytest.approx((0 + 0.04 + 0.2 + 1) / 4)
    assert a["max_relative_error"] == pytest.approx(1.0) and a["n"] == 4


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    st = ArtifactStore(str(tmp_path_factory.mktemp("latency")))
    cfg = LatencyTableConfig(channels=GRID, timing=FAST)
    return st, run("latency_table", st, cfg=cfg, input_shape=(1, 8, 8), classes=3), cfg


def test_latency_table_stage_measures_every_grid_block_once(small_table):
    st, ref, cfg = small_table
    frame = latency.load_table(ref).frame
    assert len(frame) == latency.table_units(cfg, (1, 8, 8), 3) == 2 + 2 * 4 * 4 + NUM_OPS * 4 * 2 + 4 * 2
    assert (frame.median_ms > 0).all() and (frame.p10_ms <= frame.p90_ms).all()
    assert run("latency_table", st, cfg=cfg, input_shape=(1, 8, 8), classes=3) == ref  # cached
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        run("latency_table", st, cfg=cfg, input_shape=(1, 8, 8), classes=3, latency_device="tpu")


def test_latency_model_stage_fits_on_part_and_validates_on_the_rest(small_table):
    st, table_ref, _ = small_table
    cfg = LatencyModelConfig(networks=8, holdout=0.5, max_layers=3, max_channels=16, timing=FAST)
    ref = run("latency_model", st, table_ref=table_ref, cfg=cfg)
    m = st.read_json(ref, "metrics.json")
    assert m["fit"]["n"] == m["holdout"]["n"] == 4 and 0 <= m["holdout"]["within_10pct"] <= 1
    predictor = latency.load_predictor(ref)
    measured = st.read_parquet(ref, latency.MEASURED).to_pandas()
    first = MacroArch.from_json(measured.macro[0])
    assert predictor.predict(first) == pytest.approx(measured.predicted_ms[0])
    assert isinstance(predictor, LatencyPredictor) and {"accuracy.png", "model.json"} <= set(
        st.manifest(latency.MODEL_STAGE, ref.key)["files"])  # fmt: skip


def test_a_measured_latency_is_an_artifact_per_network_device_and_setting(tmp_path):
    from nasgen.train.references import PlainNet

    st = ArtifactStore(str(tmp_path))
    m = random_macro(np.random.default_rng(3), max_layers=3, channels=(8, 16), input_shape=(1, 8, 8), classes=3)
    ref = run("latency", st, macro=m, cfg=FAST)
    out = st.read_json(ref, "latency.json")
    assert out["arch_id"] == m.arch_id and out["median_ms"] == latency.measured_ms(ref) > 0 and out["threads"] == 1
    assert out["device"]["identity"]["device"] == "cpu" and out["repeats"] == FAST.repeats
    assert run("latency", st, macro=m, cfg=FAST) == ref  # cached: timed once
    assert run("latency", st, macro=m, cfg=FAST.model_copy(update={"batch": 2})) != ref  # another setting
    plain = run("latency", st, macro=PlainNet("two_conv", 0.25, (1, 28, 28), 10), cfg=FAST)
    assert latency.measured_ms(plain) > 0
