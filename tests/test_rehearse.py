"""`nasgen rehearse` (benchmarks/rehearse.py) and `nasgen bench gpu` (benchmarks/gpu.py) on the CPU at small
sizes: every stage runs through the real code, and the extrapolation is the arithmetic it claims to be."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.config import bench_profile
from benchmarks.rehearse import PAPER_V100_H, PeakMemory, slice_profile, steps_per_epoch, table
from nasgen.config import get_profile
from tests.conftest import run_cli

pytestmark = pytest.mark.heavy  # a minute or more: started first (tests/conftest.py)


def test_slice_keeps_the_profiles_model_sizes_and_numerics():
    paper = get_profile("paper")
    part = slice_profile(paper, bench_profile("paper").rehearse)
    assert (part.cells.n, part.zc.n_labelled) == (2_000, 64)
    assert part.gvae.model_dump(exclude={"epochs", "patience"}) == paper.gvae.model_dump(exclude={"epochs", "patience"})
    assert part.ccnf.model_dump(exclude={"epochs", "patience"}) == paper.ccnf.model_dump(exclude={"epochs", "patience"})
    assert (part.ccnf.layers, part.ccnf.hidden, part.ccnf.atol, part.ccnf.solver) == (9, 512, 1e-5, "dopri5")
    assert (part.sg.layers, part.sg.hidden, part.sg.heads) == (12, 768, 12)
    assert part.zc.zc == paper.zc.zc and part.hl_evo.zc == paper.hl_evo.zc
    assert part.hl_evo.iterations == 20 and part.hl_evo.levels == paper.hl_evo.levels
    assert part.gvae.patience == part.gvae.epochs  # measured steps, never an early stop


@pytest.mark.parametrize(("rows", "val", "batch", "want"), [(2_000, 0.1, 256, 8), (400_000, 0.1, 256, 1_407),
                                                            (9, 0.1, 4, 3), (1, 0.0, 256, 1)])  # fmt: skip
def test_steps_per_epoch_counts_like_the_training_loops(rows, val, batch, want):
    assert steps_per_epoch(rows, val, batch) == want


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory(0.01, "cpu") as before:
        pass
    with PeakMemory(0.01, "cpu") as mem:
        a = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
        a.sum()
        del a
    assert mem.peak - before.peak > 150 * 2**20
    assert mem.cuda_peak is None


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    """One smoke rehearsal through the real command: its JSON file and its printed JSON line."""
    out = tmp_path_factory.mktemp("rehearse") / "smoke.json"
    cmd = [str(Path(sys.executable).with_name("nasgen")), "rehearse", "--profile", "smoke", "--json", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    return json.loads(out.read_text()), printed, done.stderr


def test_rehearsal_runs_every_stage_at_smoke(rehearsal):
    result, printed, stderr = rehearsal
    assert result["failed"] is None and printed["stages"] == result["stages"]
    assert "rehearse gvae: 60/60 (100%)" in stderr  # the progress lines
    rows = {r["stage"]: r for r in result["stages"]}
    assert list(rows) == ["cells", "zc", "clusters", "gvae", "ccnf", "hl_evo", "sg", "generate"]
    smoke = get_profile("smoke")
    assert rows["cells"]["full_units"] == smoke.cells.n and rows["zc"]["full_units"] == smoke.zc.n_labelled
    assert rows["zc"]["measured_units"] == bench_profile("smoke").rehearse.labelled
    # G-VAE: 200 sliced cells (max_cells 200), 20 held out, batch 64 -> 3 steps per epoch, 60 epochs
    assert rows["gvae"]["measured_units"] == 60 * 3 and rows["gvae"]["full_units"] == 60 * 3
    assert rows["ccnf"]["nfe_forward_per_solve"] > 0
    for r in result["stages"]:
        assert r["wall_s"] > 0 and r["s_per_unit"] > 0 and r["peak_rss_mb"] > 0
        fixed = r.get("fixed_s", 0.0)
        assert math.isclose(r["extrapolated_h"] * 3600, r["s_per_unit"] * r["full_units"] + fixed, rel_tol=1e-9)
    totals = {t["paper_step"]: t for t in result["totals"]}
    assert totals["total (pretrain)"]["paper_v100_h"] == sum(PAPER_V100_H.values())
    assert math.isclose(totals["total (pretrain)"]["extrapolated_h"],
                        sum(r["extrapolated_h"] for r in result["stages"] if r["paper_step"]))  # fmt: skip
    text = table(result)
    assert "paper step (Table 5)" in text and "gvae" in text


def test_rehearse_rejects_bad_input(monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "rehearse", "--profile", "nope")
    assert code == 2 and "unknown profile" in err
    code, _, err = run_cli(monkeypatch, capsys, "rehearse", "--profile", "tiny", "--device", "cuda:0")
    assert code == 2 and "CUDA is not available" in err
    code, _, err = run_cli(monkeypatch, capsys, "rehearse", "--profile", "tiny", "--set", "rehearse.cells=3")
    assert code == 2 and "rehearse" in err and "cells" in err


def test_gpu_benchmark_runs_on_the_cpu_at_tiny():
    from benchmarks.gpu import run

    r = run("tiny", device="cpu")
    assert [s["workers"] for s in r["zc"]["scaling"]] == [1, 2]
    assert all(s["cells"] == s["workers"] * 2 and s["cells_per_s"] > 0 for s in r["zc"]["scaling"])
    assert r["zc"]["goal_cells_per_s"] == pytest.approx(111.1, abs=0.1)
    assert r["gvae"]["steps_per_s"] > 0 and r["ccnf"]["steps_per_s"] > 0 and r["ccnf"]["nfe_forward_per_solve"] > 0
    assert r["sg"]["steps_per_s"] > 0 and r["sg"]["tokens_per_row"] > 4
    net = r["network_training"]
    assert 800_000 <= net["params"] <= 1_000_000 and net["images_per_s"] > 0 and not net["bf16_channels_last"]
    assert r["launch_overhead"]["batch_2_s"] > 0 and r["launch_overhead"]["ratio"] > 0
    json.dumps(r)  # what --json prints
