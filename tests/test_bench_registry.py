"""The benchmark registry: one `nasgen bench` command per entry, its options run's keyword parameters."""

from __future__ import annotations

import inspect
import json
import typing

import typer.main

from benchmarks.registry import BENCHMARKS, benchmark
from deployments.cli import BENCH_HIDDEN, BENCH_SHARED, bench_app, cli_type
from nasgen.errors import ConfigError
from tests.conftest import run_cli


def _commands() -> dict:
    group = typer.main.get_group(bench_app)
    return {name: group.commands[name] for name in group.commands}


def test_every_benchmark_is_a_command_with_runs_parameters_as_options():
    commands = _commands()
    assert set(commands) == set(BENCHMARKS)
    unspellable = set()
    for name, b in BENCHMARKS.items():
        flags = {f for p in commands[name].params for f in p.opts}
        fn = b.load()
        hints = typing.get_type_hints(fn)
        assert b.summary and commands[name].help == b.summary
        for p in inspect.signature(fn).parameters.values():
            if p.name in BENCH_HIDDEN or p.default is inspect.Parameter.empty:
                continue
            flag = BENCH_SHARED.get(p.name, (f"--{p.name.replace('_', '-')}",))[0]
            spellable = p.name == "overrides" or cli_type(hints[p.name]) is not None
            assert (flag in flags) == spellable, (name, p.name)
            if not spellable:
                unspellable.add((name, p.name))
        assert "--json" in flags
        assert set(b.help) <= set(inspect.signature(fn).parameters), name  # no help for a parameter run lacks
    assert unspellable == {("cate", "variants")}  # a dict of config overrides per variant: Python only


def test_unknown_benchmark_names_the_known_ones():
    try:
        benchmark("nope")
    except ConfigError as e:
        assert "space" in str(e) and "nb201-search" in str(e)
    else:
        raise AssertionError("no error")


def test_a_tuple_option_and_a_flag_reach_run(monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "bench", "zc", "--configs", "tiny", "--cells", "1",
                             "--no-standalone", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert set(result["results"]) == {"tiny"}
