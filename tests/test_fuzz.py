"""Bad input, fuzzed: every parser a user's input reaches answers with the project's own errors (a NasgenError;
pydantic's ValidationError for a config or request object built in Python, which the CLI turns into one line) and
the CLI with exit 2 and no traceback. The default suite tries ``FAST`` examples per parser; ``make test-slow``
tries ``SLOW`` and prints how many each parser saw (the docs' reliability figures)."""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nasgen.config import get_profile, load_config, parse_overrides, settle
from nasgen.errors import ArtifactMissingError, CorruptArtifactError, NasgenError
from nasgen.generate.request import GenerateRequest
from nasgen.space.macro import load_spec
from nasgen.store import MANIFEST, ArtifactStore
from tests.conftest import run_cli

FAST, SLOW = 12, 1_000
TRIED: Counter = Counter()
OURS = (NasgenError, ValidationError)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=20,
)
VALID_CELL = {"nodes": ["input", "conv_3", "skip", "output"], "edges": [[0, 1], [1, 2], [2, 3], [0, 3]]}
VALID_MACRO = {"input": [1, 28, 28], "classes": 10, "layers": [{"cell": VALID_CELL, "channels": 16, "stride": 1}]}


def _mutate(obj, rng: random.Random, value):
    """``obj`` with one field, list item or key replaced by ``value`` somewhere in its tree."""
    if isinstance(obj, dict) and obj:
        k = rng.choice(sorted(obj))
        out = dict(obj)
        out[k] = _mutate(obj[k], rng, value) if rng.random() < 0.5 else value
        return out
    if isinstance(obj, list) and obj:
        i = rng.randrange(len(obj))
        out = list(obj)
        out[i] = _mutate(obj[i], rng, value) if rng.random() < 0.5 else value
        return out
    return value


specs = st.one_of(
    st.text(max_size=60),
    json_values.map(json.dumps),
    st.tuples(st.sampled_from([VALID_CELL, VALID_MACRO]), st.randoms(use_true_random=False), json_values).map(
        lambda t: json.dumps(_mutate(t[0], t[1], t[2]))
    ),
)


def _check_spec(text: str) -> None:
    TRIED["cell / macro / HL JSON"] += 1
    try:
        load_spec(text)
        load_spec(text, normalise=True)
    except OURS:
        pass


def _check_yaml(tmp: Path, text: str) -> None:
    TRIED["YAML config"] += 1
    tmp.write_text(text)
    prof = get_profile("tiny")
    try:
        load_config(tmp, type(prof), base=prof)
    except OURS:
        pass


sections = st.sampled_from(["gvae", "hl_evo", "sg", "generate", "zc", "supernet", "nope", "gvae.epochs", ""])
fields = st.sampled_from(["epochs", "lr", "levels", "objective", "n", "seed", "x", "", "proxies", "zc.batch_size"])
yaml_docs = st.one_of(
    st.text(max_size=80),
    st.dictionaries(sections, st.dictionaries(fields, json_values, max_size=3) | json_values, max_size=3).map(
        lambda d: yaml.safe_dump(d)
    ),
)
dotted = st.tuples(sections, fields, st.text(max_size=20)).map(lambda t: f"{t[0]}.{t[1]}={t[2]}")
overrides = st.lists(st.one_of(st.text(max_size=30), dotted), min_size=1, max_size=3)


def _check_overrides(items: list[str]) -> None:
    TRIED["--set overrides"] += 1
    try:
        settle(get_profile("tiny"), overrides=parse_overrides(items))
    except OURS:
        pass


requests = st.dictionaries(
    st.sampled_from(["max_params", "max_flops", "max_latency_ms", "latency_device", "zc", "input_shape", "classes", "n",
                     "top_k", "seed", "bogus"]),
    json_values, max_size=5,
)  # fmt: skip


def _check_request(kwargs: dict) -> None:
    TRIED["generate request"] += 1
    try:
        GenerateRequest(**kwargs)
    except OURS:
        pass


FLAGS = ["--max-params", "--max-flops", "--input", "--zc", "--classes", "--n", "--top-k", "--seed", "--set",
         "--profile", "--latency-device", "--max-latency-ms", "1000", "1,28,28", "-1", "0", "nan"]  # fmt: skip
ARGS = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(FLAGS)), max_size=6)


def _check_cli(monkeypatch, capsys, store: str, args: list[str], spec_file: Path, spec: str) -> None:
    """`nasgen generate` on an empty store (every valid request ends at the missing models) and `nasgen
    describe` on a file: exit 0, or exit 2 with no traceback."""
    TRIED["CLI arguments"] += 1
    for argv in (["generate", "--store", store, *args], ["describe", str(spec_file)]):
        spec_file.write_text(spec)
        code, out, err = run_cli(monkeypatch, capsys, *argv)
        assert code in (0, 2), (argv, code, err[-500:])
        assert "Traceback" not in out + err, (argv, err[-1500:])
        if code == 2 and err.startswith("error:"):
            assert err.strip().count("\n") == 0, err  # the project's own errors: one line


def _artifact(store: ArtifactStore):
    """An artifact of every file kind nasgen reads (JSON, Parquet, safetensors, a checkpoint, a supernet)."""
    import pyarrow as pa
    import torch

    from nasgen.space.macro import MacroArch
    from nasgen.space.network import build_network
    from nasgen.train.checkpoint import checkpoint_bytes

    macro = MacroArch.from_dict(VALID_MACRO)
    with store.writer("demo", "all") as w:
        w.write_json("a.json", {"x": [1, 2, 3]})
        w.write_parquet("t.parquet", {"x": list(range(50))}, pa.schema([pa.field("x", pa.int64())]))
        w.write_safetensors("w.safetensors", {"w": torch.arange(64.0)})
        w.write_bytes("checkpoint.safetensors", checkpoint_bytes(build_network(macro), macro))
    return w.ref


def _check_file(store: ArtifactStore, ref, name: str, cut: int, flips: list[int], rerecord: bool) -> None:
    """Truncate at ``cut`` / flip the bytes at ``flips`` of one file; with ``rerecord`` its manifest entry
    matches the garbled bytes (so the parser, not the checksum, meets them); then read it."""
    import hashlib

    from nasgen.train.checkpoint import load_checkpoint

    TRIED["artifact files"] += 1
    path = store.file_path(ref.stage, ref.key, name)
    original = store.fs.cat_file(path)
    manifest = store.fs.cat_file(store.path(ref.stage, ref.key, MANIFEST))
    data = bytearray(original[: max(0, min(cut, len(original)))] if cut < len(original) else original)
    for f in flips:
        if data:
            data[f % len(data)] ^= 0xFF
    try:
        store.fs.pipe_file(path, bytes(data))
        if rerecord:
            m = json.loads(manifest)
            m["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            store.fs.pipe_file(store.path(ref.stage, ref.key, MANIFEST), json.dumps(m).encode())
        readers = {"a.json": lambda: store.read_json(ref, name), "t.parquet": lambda: store.read_parquet(ref, name),
                   "w.safetensors": lambda: store.read_safetensors(ref, name),
                   "checkpoint.safetensors": lambda: load_checkpoint(store.read_bytes(ref, name))}  # fmt: skip
        try:
            readers[name]()
        except (CorruptArtifactError, ArtifactMissingError):
            pass
    finally:
        store.fs.pipe_file(path, original)
        store.fs.pipe_file(store.path(ref.stage, ref.key, MANIFEST), manifest)


FILES = st.sampled_from(["a.json", "t.parquet", "w.safetensors", "checkpoint.safetensors"])
GARBLE = st.tuples(FILES, st.integers(0, 5_000), st.lists(st.integers(0, 10**6), max_size=4), st.booleans())


def _suite(n: int):
    common = settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))
    tmp = Path(tempfile.mkdtemp()) / "config.yaml"

    @common
    @given(specs)
    def spec(text):
        _check_spec(text)

    @common
    @given(yaml_docs)
    def config(text):
        _check_yaml(tmp, text)

    @common
    @given(overrides)
    def sets(items):
        _check_overrides(items)

    @common
    @given(requests)
    def request(kwargs):
        _check_request(kwargs)

    return {"spec": spec, "config": config, "sets": sets, "request": request}


@pytest.mark.parametrize("parser", ["spec", "config", "sets", "request"])
def test_parsers_answer_bad_input_with_our_errors(parser):
    _suite(FAST)[parser]()


def _fuzz_cli(n: int, tmp_path: Path, monkeypatch, capsys) -> None:
    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ARGS, specs)
    def cli(args, spec):
        _check_cli(monkeypatch, capsys, str(tmp_path / "empty-store"), args, tmp_path / "spec.json", spec)

    cli()


def _fuzz_files(n: int, root: Path) -> None:
    store = ArtifactStore(str(root))
    ref = _artifact(store)

    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))
    @given(GARBLE)
    def garble(args):
        _check_file(store, ref, *args)

    garble()


def test_the_cli_exits_2_without_a_traceback(tmp_path, monkeypatch, capsys):
    _fuzz_cli(FAST // 2, tmp_path, monkeypatch, capsys)


def test_garbled_artifact_files_are_corrupt_artifacts(tmp_path):
    _fuzz_files(FAST, tmp_path)


@pytest.mark.slow
def test_fuzz_every_parser_at_length(tmp_path, monkeypatch, capsys):
    TRIED.clear()
    for check in _suite(SLOW).values():
        check()
    _fuzz_files(SLOW, tmp_path / "s")
    _fuzz_cli(SLOW, tmp_path, monkeypatch, capsys)
    print(json.dumps({"examples": dict(TRIED)}))


@pytest.mark.parametrize("edges", [None, 3, "01", {"0": 1}])
def test_cell_edges_that_are_not_a_list_are_named(edges):
    """Found by the fuzzer: ``"edges": null`` raised a TypeError from deep inside the parser."""
    from nasgen.errors import InvalidCellError

    with pytest.raises(InvalidCellError, match="edges must be a list of"):
        load_spec(json.dumps({"nodes": ["input", "conv_3", "output"], "edges": edges}))
