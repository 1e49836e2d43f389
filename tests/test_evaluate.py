"""The evaluate flow end to end at the smoke scale: trained-network artifacts, caching, CLI, error paths."""

import pytest

from flows.options import RunOptions
from nasgen.errors import ConfigError
from nasgen.space.cell import Cell
from nasgen.space.macro import MacroArch
from nasgen.stages import trained
from nasgen.stages.registry import run
from nasgen.store import ArtifactStore
from nasgen.train.checkpoint import load_checkpoint
from nasgen.train.config import DatasetConfig

CELL = Cell.from_graph(["input", "conv_3", "output"], [(0, 1), (1, 2)])
SPEC = MacroArch.from_triples([(CELL, 8, 1), (CELL, 16, 2)], (3, 16, 16), 4)  # the synthetic dataset's shape


@pytest.mark.usefixtures("prefect_server")
def test_evaluate_trains_caches_and_reports(tmp_path, monkeypatch, capsys):
    from flows.evaluate import evaluate
    from tests.conftest import run_cli

    store = str(tmp_path / "store")
    refs = evaluate(networks=[SPEC.to_json()], dataset=DatasetConfig(name="synthetic"), epochs=3,
                    run=RunOptions(store=store))  # fmt: skip
    st = ArtifactStore(store)
    (ref,) = refs
    m = st.read_json(ref, "metrics.json")
    assert m["arch_id"] == SPEC.arch_id and m["epochs"] == 3 and 0 <= m["test_top1"] <= 1
    assert st.read_parquet(ref, "curve.parquet").num_rows == 3 and st.read_bytes(ref, "curve.png")[:4] == b"\x89PNG"
    net, macro = load_checkpoint(st.read_bytes(ref, "checkpoint.safetensors"))
    assert macro == SPEC
    spec_file = tmp_path / "net.json"
    spec_file.write_text(SPEC.to_json())
    code, out, _ = run_cli(monkeypatch, capsys, "evaluate", str(spec_file), "--dataset", "synthetic", "--epochs", "3",
                           "--store", store)  # fmt: skip
    assert code == 0 and SPEC.arch_id in out and ref.key in out.replace("\n", "")  # cached
    for args, message in (
        ([str(spec_file), "--dataset", "cifar10", "--root", str(tmp_path / "none")], "does not exist"),
        ([str(tmp_path / "missing.json")], "no such file"),
        ([str(spec_file), "--dataset", "mnist"], "Input should be 'digits'"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, "evaluate", *args, "--store", store)
        assert code == 2 and message in err, err


def test_a_network_must_fit_the_dataset(tmp_path):
    wrong = MacroArch.from_triples([(CELL, 8, 1)], (3, 32, 32), 10)
    with pytest.raises(ConfigError, match="generate for that input and class count"):
        run(
            "trained",
            ArtifactStore(str(tmp_path)),
            macro=wrong,
            dataset=DatasetConfig(name="synthetic"),
            recipe=trained_recipe(),
        )
    assert ArtifactStore(str(tmp_path)).list(trained.STAGE) == []


def trained_recipe():
    from nasgen.train.config import RECIPES

    return RECIPES["synthetic"].model_copy(update={"epochs": 1})
