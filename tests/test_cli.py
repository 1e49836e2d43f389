import json

import pytest
from typer.testing import CliRunner

from deployments.cli import app, main
from tests.conftest import run_cli

pytestmark = pytest.mark.heavy  # a minute or more: started first (tests/conftest.py)

runner = CliRunner()
CELL = {
    "nodes": ["input", "conv_3", "mbconv_e6_5", "skip", "output"],
    "edges": [[0, 1], [1, 2], [2, 3], [0, 3], [3, 4]],
}


def test_describe_cell_prints_ids_params_flops(tmp_path, monkeypatch, capsys):
    f = tmp_path / "cell.json"
    f.write_text(json.dumps(CELL))
    code, out, _ = run_cli(monkeypatch, capsys, "describe", str(f), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["kind"] == "cell" and info["params"]["analytic"] == info["params"]["counted"] > 0
    assert info["flops"]["analytic"] == info["flops"]["counted"] > 0 and len(info["cell_id"]) == 16


def test_describe_macro_table(tmp_path, monkeypatch, capsys):
    f = tmp_path / "m.json"
    f.write_text(
        json.dumps({"input": [3, 8, 8], "classes": 4, "layers": [{"cell": CELL, "channels": 16, "stride": 2}]})
    )
    code, out, _ = run_cli(monkeypatch, capsys, "describe", str(f))
    assert code == 0 and "arch_id" in out and "params" in out


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"nodes": ["input", "conv_9", "output"], "edges": [[0,1],[1,2]]}', "unknown operation 'conv_9'"),
        ("{oops", "does not parse"),
        ('{"layers": [{"cell": "zz", "channels": 16, "stride": 1}]}', "position 0: not a cell id"),
        ('{"layers": [{"cluster": 1, "channels": 15, "stride": 1}]}', "channels 15"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, monkeypatch, capsys, content, message):
    f = tmp_path / "bad.json"
    f.write_text(content)
    code, _, err = run_cli(monkeypatch, capsys, "describe", str(f))
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_and_debug_traceback(tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "describe", str(tmp_path / "none.json"))
    assert code == 2 and "cannot read" in err
    monkeypatch.setattr("sys.argv", ["nasgen", "--debug", "describe", str(tmp_path / "none.json")])
    from nasgen.errors import NasgenError

    with pytest.raises(NasgenError):
        main()


def test_bad_sample_parameters_exit_2(monkeypatch, capsys, tmp_path):
    code, _, err = run_cli(monkeypatch, capsys, "cells", "--set", "cells.n=0", "--store", str(tmp_path))
    assert code == 2 and "invalid overrides" in err and "cells.n" in err
    code, _, err = run_cli(monkeypatch, capsys, "cells", "--profile", "nope", "--store", str(tmp_path))
    assert code == 2 and "unknown profile" in err


def test_store_ls_lists_committed_artifacts(tmp_path):
    from nasgen.store import ArtifactStore

    st = ArtifactStore(str(tmp_path))
    with st.writer("demo", "abc") as w:
        w.write_json("x.json", 1)
    result = runner.invoke(app, ["store", "ls", "--store", str(tmp_path)])
    assert result.exit_code == 0 and "demo" in result.output and "abc" in result.output


def test_bench_space_json_small(monkeypatch, capsys):
    code, out, _ = run_cli(
        monkeypatch, capsys, "bench", "space", "--json", "--n", "3000", "--macros", "50", "--space-samples", "30"
    )
    assert code == 0
    result = json.loads(out)
    assert result["sampling"]["unique_cells"] == 3000 and result["cost_model"]["macros"] == 50
    assert result["micro_space"]["stored_forms"] > result["micro_space"]["canonical_cells"] > 1e14


def test_bench_nb201_rejects_an_empty_sample(monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "bench", "nb201", "--n", "0")
    assert code == 2 and "--n" in err
