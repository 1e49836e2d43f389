"""`nasgen rehearse`: every pretrain stage and `generate` at a profile's model sizes and numeric settings on a
small slice of its data (``RehearseConfig``), through the real stage code (``pipeline.local_executor``), in a
throw-away store. Per stage it measures wall time per unit of work, peak memory and, for the ODE, NFE per
solve; and extrapolates the cost of the full profile on this device, next to the paper's Appendix A (Table 5).

Extrapolation: stages whose work is a count (cells sampled or scored, ZC vectors clustered, HL-Evo
evaluations, generated candidates) scale their measured time linearly; training stages scale their time per
optimiser step (from the epochs' progress ticks) to the full profile's steps (epochs x steps per epoch, no early
stopping: an upper bound) and add their measured fixed part (data preparation, metrics) once.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from benchmarks.config import RehearseConfig, bench_profile, split_overrides
from benchmarks.machine import machine_info
from nasgen.config import Profile, resolve_profile
from nasgen.device import resolve_device
from nasgen.errors import NasgenError
from nasgen.generate.candidates import NoFeasibleNetworkError
from nasgen.generate.request import GenerateRequest
from nasgen.progress import ProgressLine
from nasgen.stages import ccnf as ccnf_stage
from nasgen.stages import hl_evo as hl_evo_stage
from nasgen.stages.pipeline import STEPS, local_executor, walk
from nasgen.stages.readers import metrics as metrics_of
from nasgen.stages.registry import run, stage
from nasgen.store import ArtifactStore, store_of

# Paper Appendix A, Table 5: V100 GPU hours per step. The text says "around 30 GPU hours" in total and "5.5"
# for G-VAE + CCNF; the table's cells sum to 35.5 (its G-VAE/predictor cell spans both columns: 5).
PAPER_V100_H = {
    "data generation: cells + ZC": 5.0,
    "G-VAE + predictor": 5.0,
    "CCNF": 0.5,
    "ES (HL-Evo, the SG's data)": 14.0,
    "SG training": 11.0,
}
PAPER_GROUP = {"cells": "data generation: cells + ZC", "zc": "data generation: cells + ZC",
               "clusters": "G-VAE + predictor", "gvae": "G-VAE + predictor", "ccnf": "CCNF",
               "hl_evo": "ES (HL-Evo, the SG's data)", "sg": "SG training"}  # fmt: skip
TRAINED = ("gvae", "ccnf", "sg")


def slice_profile(prof: Profile, r: RehearseConfig) -> Profile:
    """``prof`` with the data sizes and loop lengths of ``r`` (its benchmark profile's ``rehearse`` section);
    every model size and numeric setting unchanged. Patience equals epochs: the rehearsal measures steps, it
    never stops early."""
    return resolve_profile(prof, overrides={
        "cells.n": r.cells, "cells.shard_size": min(prof.cells.shard_size, r.cells),
        "zc.n_labelled": r.labelled, "zc.shard_size": min(prof.zc.shard_size, r.labelled),
        "gvae.epochs": r.gvae_epochs, "gvae.patience": r.gvae_epochs,
        "ccnf.epochs": r.ccnf_epochs, "ccnf.patience": r.ccnf_epochs,
        "hl_evo.iterations": r.hl_evo_iterations,
        "sg.epochs": r.sg_epochs, "sg.patience": r.sg_epochs,
        "generate.n": r.generate_n,
    })  # fmt: skip


def steps_per_epoch(rows: int, val_fraction: float, batch_size: int) -> int:
    """As the G-VAE and CCNF loops count them: the training rows (all but the held-out share) in batches."""
    n_val = int(round(val_fraction * rows)) if rows >= 10 else 0
    return max(1, math.ceil((rows - n_val) / batch_size))


def _rows(max_cells: int | None, available: int) -> int:
    return available if max_cells is None else min(max_cells, available)


class PeakMemory:
    """Peak resident memory of this process over a block (a sampling thread; ru_maxrss cannot be reset), and
    the CUDA allocator's peak when the device is a GPU."""

    def __init__(self, poll_s: float, device: str):
        self.poll_s, self.cuda = poll_s, device.startswith("cuda")
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:  # no /proc (macOS): the lifetime peak, an upper bound
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> PeakMemory:
        self.peak = self.rss()
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
        self.cuda_peak = None
        if self.cuda:
            import torch

            self.cuda_peak = torch.cuda.max_memory_allocated()


@dataclass
class Ticks:
    """Times of a stage's progress ticks (one per epoch of a training loop), echoed as a progress line."""

    line: ProgressLine | None = None
    times: list[float] = field(default_factory=list)

    def __call__(self, n: int = 1) -> None:
        self.times.append(time.perf_counter())
        if self.line is not None:
            self.line.advance(n)


def rehearse(profile: str | Profile = "paper", device: str = "cpu", overrides: dict | None = None,
             store: str | None = None, r: RehearseConfig | None = None) -> dict:  # fmt: skip
    """Run the rehearsal and return its table (``stages``), the per-group totals beside the paper's and the
    machine. ``store``: where its artifacts go (default: a temporary directory, removed afterwards). ``r``: the
    slice (default: the profile's benchmark section; ``overrides`` of ``rehearse.*`` apply to it)."""
    lib, bench = split_overrides(overrides or {})
    full = resolve_profile(profile, overrides=lib)
    r = r or bench_profile(full.name, overrides=bench).rehearse
    part = slice_profile(full, r)
    device = resolve_device(device)
    if store is not None:
        return _rehearse(full, part, r, device, ArtifactStore(store))
    with tempfile.TemporaryDirectory(prefix="nasgen-rehearse-") as root:
        return _rehearse(full, part, r, device, ArtifactStore(root))


def _rehearse(full: Profile, part: Profile, r: RehearseConfig, device: str, store: ArtifactStore) -> dict:
    measured: dict[str, dict] = {}
    ticks: dict[str, Ticks] = {}
    failed: dict = {}

    def progress(name: str) -> Ticks:  # one line per step: a per-level stage ticks for every level
        cfg = getattr(part, name)
        total = stage(name).units_of(cfg=cfg) * (len(cfg.levels) if STEPS[name].per_level else 1)
        ticks[name] = Ticks(ProgressLine(f"rehearse {name}", total, every=10.0))
        return ticks[name]

    inner = local_executor(store, device, progress)

    def execute(step, cfg, inputs):
        print(f"rehearse {step.name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        with PeakMemory(r.memory_poll_s, device) as mem:
            try:
                out = inner(step, cfg, inputs)
            except NasgenError as e:  # e.g. a G-VAE of a few hundred steps that decodes no cell of a family
                failed.update(stage=step.name, error=str(e).splitlines()[0], wall_s=time.perf_counter() - t0)
                raise _Stopped from e
        measured[step.name] = _entry(t0, mem, out)
        return out

    try:
        refs = walk(part, execute)
    except _Stopped:
        rows = [_row(name, m, ticks.get(name), full, part) for name, m in measured.items()]
        return _result(full, r, device, rows, failed)
    request = GenerateRequest(max_params=full.demo_budget, n=part.generate.n, seed=0)
    t0, outcome = time.perf_counter(), "ok"
    with PeakMemory(r.memory_poll_s, device) as mem:
        try:
            gen = run("generate", store, device, cfg=part.generate, sg_ref=refs["sg"], request=request)
        except NoFeasibleNetworkError as e:  # an SG of a few steps may miss the budget: its cost is still measured
            gen, outcome = None, f"no feasible network: {e}"
    measured["generate"] = _entry(t0, mem, gen, outcome)
    rows = [_row(name, m, ticks.get(name), full, part) for name, m in measured.items()]
    return _result(full, r, device, rows, None)


def _entry(t0: float, mem: PeakMemory, ref, outcome: str = "ok") -> dict:
    """What one stage's run measured (its start ``t0`` on the perf_counter clock of its progress ticks)."""
    return {"wall_s": time.perf_counter() - t0, "t0": t0, "peak_rss": mem.peak, "cuda_peak": mem.cuda_peak,
            "ref": ref, "outcome": outcome}  # fmt: skip


class _Stopped(Exception):
    """A stage failed: the rehearsal reports what it measured up to there."""


def _result(full: Profile, r: RehearseConfig, device: str, rows: list[dict], failed: dict | None) -> dict:
    return {
        "profile": full.name,
        "failed": failed,
        "device": device,
        "machine": machine_info(),
        "torch_threads": _threads(),
        "slice": r.model_dump(),
        "stages": rows,
        "totals": _totals(rows),
        "paper_total_v100_h": {"text": 30.0, "table_5_sum": sum(PAPER_V100_H.values())},
    }


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _row(name: str, m: dict, ticks: Ticks | None, full: Profile, part: Profile) -> dict:
    """One stage: measured units and time, time per unit, peak memory, the full profile's units and hours."""
    wall = m["wall_s"]
    unit, done, total, extra = _units(name, m["ref"], full, part)
    if name in TRAINED and ticks is not None and ticks.times:
        train_s = ticks.times[-1] - m["t0"]
        per_unit = train_s / done
        fixed = wall - train_s
        extrapolated = per_unit * total + fixed
        extra.update(train_s=train_s, fixed_s=fixed)
    else:
        per_unit = wall / done
        extrapolated = per_unit * total
    return {
        "stage": name,
        "unit": unit,
        "measured_units": done,
        "wall_s": round(wall, 3),
        "s_per_unit": per_unit,
        "peak_rss_mb": round(m["peak_rss"] / 2**20, 1),
        "cuda_max_allocated_mb": None if m["cuda_peak"] is None else round(m["cuda_peak"] / 2**20, 1),
        "full_units": total,
        "extrapolated_h": extrapolated / 3600,
        "paper_step": PAPER_GROUP.get(name),
        "outcome": m["outcome"],
        **extra,
    }


def _units(name: str, ref, full: Profile, part: Profile) -> tuple[str, int, int, dict]:
    """(unit, units measured, units of the full profile, extra facts) of one stage's artifact(s)."""
    if name == "cells":
        return "cells sampled", part.cells.n, full.cells.n, {}
    if name == "zc":
        return "cells scored", part.zc.n_labelled, full.zc.n_labelled, {}
    if name == "clusters":
        return "ZC vectors clustered (linear in n assumed)", part.zc.n_labelled, full.zc.n_labelled, {}
    if name == "gvae":
        rows, rows_full = _rows(part.gvae.max_cells, part.cells.n), _rows(full.gvae.max_cells, full.cells.n)
        met = metrics_of(ref)
        spe = steps_per_epoch(rows, part.gvae.val_fraction, part.gvae.batch_size)
        spe_full = steps_per_epoch(rows_full, full.gvae.val_fraction, full.gvae.batch_size)
        return "optimiser steps", met["epochs"] * spe, full.gvae.epochs * spe_full, {"rows": rows,
                                                                                    "full_rows": rows_full}  # fmt: skip
    if name == "ccnf":
        g, g_full = _rows(part.gvae.max_cells, part.cells.n), _rows(full.gvae.max_cells, full.cells.n)
        rows, rows_full = _rows(part.ccnf.max_cells, g), _rows(full.ccnf.max_cells, g_full)
        hist = store_of(ref).read_parquet(ref, ccnf_stage.HISTORY).to_pydict()
        spe = steps_per_epoch(rows, part.ccnf.val_fraction, part.ccnf.batch_size)
        spe_full = steps_per_epoch(rows_full, full.ccnf.val_fraction, full.ccnf.batch_size)
        nfe = {"nfe_forward_per_solve": float(hist["nfe_forward"][-1]), "rows": rows, "full_rows": rows_full,
               "nfe_backward_per_solve": float(hist["nfe_backward"][-1])}  # fmt: skip
        return "optimiser steps", len(hist["train_nll"]) * spe, full.ccnf.epochs * spe_full, nfe
    if name == "hl_evo":
        evals = sum(hl_evo_stage.stats(r)["evaluations"] for r in ref)
        per_iteration = evals / (part.hl_evo.iterations * len(part.hl_evo.levels))
        total = round(per_iteration * full.hl_evo.iterations * len(full.hl_evo.levels))
        return "ZC evaluations", evals, total, {"levels": len(full.hl_evo.levels)}
    if name == "sg":
        met = metrics_of(ref)
        rows = met["rows"]
        per_iteration = rows / (part.hl_evo.iterations * len(part.hl_evo.levels))
        rows_full = round(per_iteration * full.hl_evo.iterations * len(full.hl_evo.levels))
        spe = steps_per_epoch(rows, part.sg.val_fraction, part.sg.batch_size)
        spe_full = steps_per_epoch(rows_full, full.sg.val_fraction, full.sg.batch_size)
        return "optimiser steps", met["epochs"] * spe, full.sg.epochs * spe_full, {
            "rows": rows, "full_rows": rows_full, "parameters": met["parameters"]}  # fmt: skip
    if name == "generate":
        return "candidates", part.generate.n, full.generate.n, {}
    raise ValueError(f"rehearse has no unit for stage {name!r}")


def _totals(rows: list[dict]) -> list[dict]:
    """Our extrapolated hours per step of the paper's Table 5, beside its V100 hours."""
    out = []
    for group, paper in PAPER_V100_H.items():
        ours = sum(r["extrapolated_h"] for r in rows if r["paper_step"] == group)
        out.append({"paper_step": group, "extrapolated_h": ours, "paper_v100_h": paper})
    out.append({"paper_step": "total (pretrain)", "paper_v100_h": sum(PAPER_V100_H.values()),
                "extrapolated_h": sum(r["extrapolated_h"] for r in rows if r["paper_step"])})  # fmt: skip
    return out


def table(result: dict) -> str:
    """The rehearsal as a plain-text table (the CLI's default output)."""
    head = (f"{'stage':<9} {'unit':<26} {'done':>6} {'wall s':>8} {'s/unit':>9} {'RSS MB':>8} {'full units':>11} "
            f"{'full h':>9}")  # fmt: skip
    lines = [f"rehearsal of profile {result['profile']} on {result['device']} "
             f"({result['machine']['cpu']}, {result['torch_threads']} torch threads)", head]  # fmt: skip
    for r in result["stages"]:
        lines.append(f"{r['stage']:<9} {r['unit'][:26]:<26} {r['measured_units']:>6} {r['wall_s']:>8.1f} "
                     f"{r['s_per_unit']:>9.4f} {r['peak_rss_mb']:>8.0f} {r['full_units']:>11,} "
                     f"{r['extrapolated_h']:>9.3g}")  # fmt: skip
    lines += ["", f"{'paper step (Table 5)':<28} {'ours, h':>10} {'paper, V100 h':>14}"]
    for t in result["totals"]:
        lines.append(f"{t['paper_step']:<28} {t['extrapolated_h']:>10.2f} {t['paper_v100_h']:>14.1f}")
    if result["failed"]:
        f = result["failed"]
        lines += ["", f"stopped: stage {f['stage']} failed after {f['wall_s']:.0f} s: {f['error']}"]
    return "\n".join(lines)
