"""Exports and their checks: ONNX and TorchScript parity with PyTorch, the timing harness, model cards, the
`export` stage on a trained network, and its error paths."""

import json

import numpy as np
import pytest
import torch

from nasgen.device import describe, fixed_threads
from nasgen.errors import ConfigError, CorruptArtifactError
from nasgen.exports.card import FIELDS, card_markdown, model_card
from nasgen.exports.config import ExportConfig
from nasgen.exports.formats import max_abs_difference, to_torchscript
from nasgen.latency.config import TimingConfig
from nasgen.latency.timing import time_calls, time_module
from nasgen.onnx_format import onnx_session, to_onnx
from nasgen.space.cell import Cell
from nasgen.space.macro import MacroArch
from nasgen.space.network import build_network
from nasgen.stages import export
from nasgen.stages.registry import run
from nasgen.store import ArtifactStore
from nasgen.train.config import DatasetConfig, TrainRecipe
from nasgen.train.references import PlainNet

CELL = Cell.from_graph(["input", "sep_conv_3", "mbconv_e2_5", "avg_pool_3", "output"],
                       [(0, 1), (1, 2), (0, 2), (2, 3), (1, 3), (3, 4)])  # fmt: skip
SHAPE = (3, 16, 16)
FAST = ExportConfig(timing=TimingConfig(repeats=3, warmup=1))


def macro() -> MacroArch:
    return MacroArch.from_triples([(CELL, 16, 1), (CELL, 24, 2)], SHAPE, 4)


def net() -> torch.nn.Module:
    torch.manual_seed(0)
    n = build_network(macro())
    with torch.no_grad():  # BN statistics away from their init, so eval-mode BN is exercised
        n.train()(torch.randn(16, *SHAPE))
    return n.eval()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_exports_reproduce_pytorch_at_every_batch_size(fmt):
    n = net()
    data = to_onnx(n, SHAPE) if fmt == "onnx" else to_torchscript(n, SHAPE)
    diff = max_abs_difference(n, data, fmt, SHAPE, batches=(1, 3, 7))
    assert 0 <= diff < 1e-4
    logits = n(torch.randn(3, *SHAPE)).detach()
    assert float(logits.std()) > 1e-3  # outputs that vary: parity is not a constant against a constant


def test_onnx_file_has_a_dynamic_batch_and_the_stated_opset():
    import onnx

    model = onnx.load_from_string(to_onnx(net(), SHAPE, opset=18))
    assert {o.version for o in model.opset_import if o.domain in ("", "ai.onnx")} == {18}
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param and not dim.dim_value  # a named (dynamic) batch dimension
    session = onnx_session(model.SerializeToString())
    assert session.run(None, {session.get_inputs()[0].name: np.zeros((5, *SHAPE), np.float32)})[0].shape == (5, 4)


def test_corrupt_exports_and_unknown_formats_are_named():
    with pytest.raises(CorruptArtifactError, match="onnxruntime cannot load"):
        onnx_session(b"not an onnx file")
    with pytest.raises(CorruptArtifactError, match="not a TorchScript module"):
        max_abs_difference(net(), b"junk", "torchscript", SHAPE)
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        max_abs_difference(net(), b"", "tflite", SHAPE)


def test_time_calls_runs_warmup_then_repeats_and_orders_its_percentiles():
    calls = []
    t = time_calls(lambda: calls.append(1), warmup=4, repeats=9, threads=3)
    assert len(calls) == 13 and t.repeats == 9 and t.threads == 3
    assert 0 <= t.p10_ms <= t.median_ms <= t.p90_ms


def test_time_module_fixes_and_records_the_threads_then_restores_them():
    before = torch.get_num_threads()
    t = time_module(net(), SHAPE, TimingConfig(threads=1, repeats=3, warmup=1))
    assert t.threads == 1 and t.repeats == 3 and t.median_ms > 0 and torch.get_num_threads() == before
    bf16 = time_module(net(), SHAPE, TimingConfig(threads=1, repeats=3, warmup=0, precision="bf16"))
    ort = time_module(net(), SHAPE, TimingConfig(threads=1, repeats=3, warmup=0, runtime="onnx", batch=2))
    assert bf16.median_ms > 0 and ort.median_ms > 0
    with fixed_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigError, match="fp32 only"):
        time_module(net(), SHAPE, TimingConfig(runtime="onnx", precision="bf16"))


def test_device_descriptions_name_the_machine_and_refuse_unknown_devices():
    d = describe("cpu")
    assert d["cpu"] and d["cores"] >= 1 and d["gpu"] is None and d["torch"] == torch.__version__
    assert d["onnxruntime"] and d["identity"] == {"device": "cpu", "cpu": d["cpu"], "cores": d["cores"], "gpu": None}
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        describe("tpu")


def test_a_card_needs_every_field_and_renders_them():
    fields = dict.fromkeys(FIELDS)
    fields.update(name="n", architecture={"layers": []}, params=10, flops=20, input_shape=[1, 2, 2], classes=3)
    card = model_card(**fields)
    assert list(card) == list(FIELDS)
    assert card_markdown(card).startswith("# n\n") and "| parameters | 10 |" in card_markdown(card)
    with pytest.raises(TypeError, match="missing \\['zc'\\]"):
        model_card(**{k: v for k, v in fields.items() if k != "zc"})


@pytest.fixture(scope="module")
def trained_ref(tmp_path_factory):
    st = ArtifactStore(str(tmp_path_factory.mktemp("exports")))
    ref = run("trained", st, macro=macro(), dataset=DatasetConfig(name="synthetic"),
              recipe=TrainRecipe(epochs=1, batch_size=32))  # fmt: skip
    return st, ref


def test_export_stage_writes_a_checked_file_and_a_complete_card(trained_ref):
    st, ref = trained_ref
    for fmt, name in (("onnx", "model.onnx"), ("torchscript", "model.pt")):
        out = run("export", st, source_ref=ref, fmt=fmt, cfg=FAST)
        files = st.manifest(export.STAGE, out.key)["files"]
        assert {name, "card.json", "card.md", "network.png"} <= set(files)
        card = st.read_json(out, "card.json")
        assert set(card) == set(FIELDS) and card["architecture"] == macro().to_dict()
        assert card["export"]["format"] == fmt and card["export"]["max_abs_difference"] < 1e-4
        assert card["training"]["metrics"] == st.read_json(ref, "metrics.json")
        assert card["latency"]["device"]["identity"] == describe("cpu")["identity"] and card["latency"]["median_ms"] > 0
        assert card["params"] == sum(p.numel() for p in net().parameters())
        assert card["provenance"]["artifact"] == ref.uri
        assert "## Training" in st.read_bytes(out, "card.md").decode()
        assert run("export", st, source_ref=ref, fmt=fmt, cfg=FAST) == out  # cached


def test_export_refuses_what_it_cannot_export(trained_ref):
    st, ref = trained_ref
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        run("export", st, source_ref=ref, fmt="tflite", cfg=FAST)
    with pytest.raises(ConfigError, match="has no rank 2"):
        run("export", st, source_ref=ref, fmt="onnx", cfg=FAST, rank=2)
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        run("export", st, source_ref=ref, fmt="onnx", cfg=FAST, latency_device="tpu")
    loose = export.ExportConfig(tolerance=1e-30, timing=FAST.timing)
    with pytest.raises(export.ExportMismatchError, match="differs from PyTorch"):
        run("export", st, source_ref=ref, fmt="onnx", cfg=loose)
    assert not st.exists(export.STAGE, export.key(ref, "onnx", loose))  # nothing partial
    assert not st.fs.exists(st.path(export.STAGE, export.key(ref, "onnx", loose)))


def test_plain_reference_networks_export_too(tmp_path):
    st = ArtifactStore(str(tmp_path))
    ref = run("trained", st, macro=PlainNet("two_conv", 0.25, SHAPE, 4),
              dataset=DatasetConfig(name="synthetic"), recipe=TrainRecipe(epochs=1, batch_size=64))  # fmt: skip
    out = run("export", st, source_ref=ref, fmt="onnx", cfg=FAST)
    card = json.loads(st.read_bytes(out, "card.json"))
    assert card["picture"] is None and card["architecture"]["reference"] == "two_conv" and card["flops"] > 0
    assert card["export"]["max_abs_difference"] < 1e-4


@pytest.mark.usefixtures("prefect_server")
def test_cli_export_writes_the_files_and_names_bad_input(trained_ref, tmp_path, monkeypatch, capsys):
    from tests.conftest import run_cli

    st, ref = trained_ref
    out = tmp_path / "out"
    code, stdout, _ = run_cli(monkeypatch, capsys, "export", ref.uri, "--format", "torchscript", "--out", str(out),
                              "--store", st.root)  # fmt: skip
    assert code == 0 and json.loads(stdout[stdout.index("{") :])["stage"] == "export"
    assert {p.name for p in out.iterdir()} == {"model.pt", "card.json", "card.md"}
    assert json.loads((out / "card.json").read_text())["export"]["format"] == "torchscript"
    for args, message in (([ref.uri, "--format", "tflite"], "unknown export format 'tflite'"),
                          ([ref.uri + "x"], "no committed artifact"),
                          ([ref.uri, "--device", "tpu"], "unknown device 'tpu'")):  # fmt: skip
        code, _, err = run_cli(monkeypatch, capsys, "export", *args)
        assert code == 2 and message in err and "Traceback" not in err
