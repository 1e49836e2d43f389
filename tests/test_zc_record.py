"""The shared-pass record equals each proxy alone; determinism; failures become rows."""

import math

import pytest
import torch

from nasgen.errors import ConfigError
from nasgen.space.cell import Cell
from nasgen.space.cost import macro_cost
from nasgen.zc import STANDALONE, Scorer, make_batch, seeded_network, zc_record
from nasgen.zc.config import ALL_PROXIES, ZCConfig
from nasgen.zc.scorer import derive_seed

CFG = ZCConfig(batch_size=8, resolution=8, proxies=ALL_PROXIES)
CELL = Cell.from_dict(
    {"nodes": ["input", "conv_3", "mbconv_e2_3", "sep_conv_5", "avg_pool_3", "output"],
     "edges": [[0, 1], [0, 2], [1, 3], [2, 3], [2, 4], [3, 5], [4, 5], [0, 5]]}
)  # fmt: skip


@pytest.fixture(scope="module")
def net():
    return seeded_network(Scorer(CFG).macro_for(CELL), seed=7)


def test_shared_record_equals_each_proxy_alone(net):
    batch = make_batch(CFG)
    rec = zc_record(net, batch, CFG)
    assert list(rec) == list(ALL_PROXIES)
    for name, fn in STANDALONE.items():
        assert rec[name] == pytest.approx(fn(net, batch, CFG), rel=1e-6), name
    cost = macro_cost(Scorer(CFG).macro_for(CELL))
    assert (rec["params"], rec["flops"]) == (cost.params, cost.flops)
    assert all(math.isfinite(v) for v in rec.values())


def test_record_leaves_the_network_as_it_was(net):
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    zc_record(net, make_batch(CFG), CFG)
    assert not net.training and all(p.grad is None for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_same_seed_gives_bitwise_equal_records():
    a, b = Scorer(CFG), Scorer(CFG)
    ra, rb = a.score_cell(CELL), b.score_cell(CELL)
    drop = ("seconds",)
    assert {k: v for k, v in ra.items() if k not in drop} == {k: v for k, v in rb.items() if k not in drop}
    assert ra["status"] == "ok"
    other = Scorer(CFG.model_copy(update={"seed": 1})).score_cell(CELL)
    assert other["naswot"] != ra["naswot"]


def test_seeds_differ_per_cell_and_are_stable():
    assert derive_seed(0, "a") == derive_seed(0, "a") != derive_seed(0, "b")
    assert 0 <= derive_seed(3, "x") < 2**63


def test_nan_network_is_reported_not_crashed(net):
    bad = seeded_network(Scorer(CFG).macro_for(CELL), seed=7)
    with torch.no_grad():
        bad.head[-1].weight.fill_(float("nan"))
    sc = Scorer(CFG)
    row = sc.guarded(lambda: zc_record(bad, sc.batch, CFG))
    assert row["status"] == "nan" and "snip" in row["error"] and math.isnan(row["snip"])
    assert row["params"] > 0  # what could be computed is kept


def test_exceptions_and_oom_become_rows():
    sc = Scorer(CFG)

    def boom():
        raise RuntimeError("kaput")

    def oom():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    row = sc.guarded(boom)
    assert row["status"] == "error" and "RuntimeError: kaput" in row["error"] and math.isnan(row["tcet"])
    assert sc.guarded(oom)["status"] == "oom"


def test_unavailable_device_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        Scorer(CFG, device="cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        Scorer(CFG, device="tpu")


def test_benchmark_reports_every_proxy_and_the_overhead_factor():
    from benchmarks.zc import run

    out = run(cells=1, configs=("smoke",))
    r = out["results"]["smoke"]
    assert set(STANDALONE) | {"record", "fwd_bwd", "build"} <= set(r["seconds_per_cell"])
    assert r["overhead_factor"] > 0 and r["hours_for_400k_cells"] > 0 and out["machine"]["cores"] >= 1
