"""The `nasgen` command, beside the deployments: how nasgen is run, the outermost layer (over flows, benchmarks
and the deployment helpers; nothing imports it). Bad input exits with code 2 and one line naming the problem
(--debug: traceback).

Every command settles its configuration once, on the way in (profile, ``--config FILE.yaml``, ``--set
section.field=value``, the device, the generate request) and hands the resolved objects to the flows. The
single-stage commands (``clusters``, ``gvae``, ``ccnf``, ``sg``, ``nb201-proxies``) are built from the stage
registry: one command each, taking the URIs of the artifacts it reads.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

import flows  # noqa: F401  (Prefect's defaults for the project, set before anything imports Prefect)
from nasgen.config import PROFILE_NAMES, parse_overrides
from nasgen.device import DEVICE_HELP
from nasgen.errors import ConfigError, NasgenError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)
store_app = typer.Typer(no_args_is_help=True, help="Inspect the artifact store.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (print JSON).")
app.add_typer(store_app, name="store")
app.add_typer(bench_app, name="bench")
console = Console()
_state = {"debug": False}

# The options every command shares, written once.
ProfileOpt = Annotated[str, typer.Option("--profile", help=f"{' | '.join(PROFILE_NAMES)} (every number of a run).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML of profile sections to override.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="SECTION.FIELD=VALUE override (repeat).")]
StoreOpt = Annotated[str | None, typer.Option("--store", help="Store URI (default $NASGEN_STORE or ./artifacts).")]
DeviceOpt = Annotated[str, typer.Option("--device", help=DEVICE_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help="One line of JSON.")]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write a PNG here.")]
UrisArg = Annotated[list[str] | None, typer.Argument(help="URIs of the artifacts the stage reads.")]


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks.")) -> None:
    """nasgen: hierarchical generative neural architecture search."""
    _state["debug"] = debug
    if not debug:
        quiet_user_errors()


class _UserErrorFilter(logging.Filter):
    """Prefect logs a failed task or flow run with its traceback; for a user's error (a NasgenError: a bad
    budget, a missing artifact) the traceback is noise: the record keeps its message, not the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], NasgenError):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_user_errors() -> None:
    """The filter on the loggers Prefect reports run failures with (a logger's filters see every record it
    creates, whichever handlers Prefect attaches later)."""
    for name in ("prefect.flow_runs", "prefect.task_runs", "prefect.engine"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _UserErrorFilter) for f in logger.filters):
            logger.addFilter(_UserErrorFilter())


def _settle(profile: str, config: Path | None, sets: list[str] | None, store: str | None = None,
            device: str = "cpu"):  # fmt: skip
    """The flows' RunOptions with the profile and the device resolved here, before Prefect starts (and its
    ephemeral database migrated once, under a lock: several commands may start at once)."""
    from flows import backend
    from flows.options import RunOptions
    from nasgen.config import resolve_profile
    from nasgen.device import resolve_device

    prof = resolve_profile(profile, config, parse_overrides(sets or []))
    opts = RunOptions(profile=prof, store=store, device=resolve_device(device))
    backend.prepare()
    return opts


def _print_ref(ref) -> None:
    if isinstance(ref, list):
        console.print_json(json.dumps([r.model_dump() for r in ref]))
    elif isinstance(ref, dict):
        console.print_json(json.dumps({k: v.model_dump() if hasattr(v, "model_dump") else [x.model_dump() for x in v]
                                       for k, v in ref.items()}))  # fmt: skip
    else:
        console.print_json(ref.model_dump_json())


# --- the pipeline's stages -----------------------------------------------------------------------------------


@app.command("cells")
def cells_cmd(profile: ProfileOpt = "demo", config: ConfigOpt = None, sets: SetOpt = None,
              store: StoreOpt = None) -> None:  # fmt: skip
    """Sample the profile's unique cells (cells flow: cached, resumable shards) and print the artifact ref."""
    from flows.cells import cells_flow

    _print_ref(cells_flow(run=_settle(profile, config, sets, store)))


@app.command("zc")
def zc_cmd(
    cells: Annotated[str | None, typer.Argument(help="A cells artifact (default: the profile's in the store).")] = None,
    runner: Annotated[
        str | None,
        typer.Option(
            "--runner", help="threads | processes | dask://HOST:PORT (default: the profile's orchestration.zc_runner)"
        ),
    ] = None,
    max_workers: Annotated[int | None, typer.Option("--max-workers", help="Parallel shards.")] = None,
    profile: ProfileOpt = "demo",
    config: ConfigOpt = None,
    sets: SetOpt = None,
    store: StoreOpt = None,
    device: DeviceOpt = "cpu",
) -> None:
    """ZC-score the labelled cells (zc flow: sharded, cached, resumable) and print the artifact ref.
    ``--set zc.n_labelled=400`` scores the first 400, ``--set zc.shard_size=50`` changes the shards."""
    from flows.zc import make_task_runner, zc_flow

    run = _settle(profile, config, sets, store, device)
    if runner is not None:
        make_task_runner(runner, max_workers)  # fail fast on a bad runner
    _print_ref(zc_flow(cells=cells, run=run, runner=runner, max_workers=max_workers,
                       show_progress=True))  # fmt: skip


def _stage_command(name: str) -> None:
    from nasgen.stages.registry import stage

    s = stage(name)

    def command(uris: UrisArg = None, profile: ProfileOpt = "demo", config: ConfigOpt = None, sets: SetOpt = None,
                store: StoreOpt = None, device: DeviceOpt = "cpu") -> None:  # fmt: skip
        from flows.stage import run_stage_flow

        run = _settle(profile, config, sets, store, device)
        _print_ref(run_stage_flow(s.name, upstream=uris or [], run=run))

    inputs = ", ".join(a for a in s.inputs if a != "cfg")
    command.__doc__ = (f"Stage {s.name} ({s.title}) on the artifacts given ({inputs or 'none'}; what is not given is "
                       f"found upstream of them), config section `{s.section}`; print the artifact ref.")  # fmt: skip
    app.command(s.command)(command)


# Every configured stage of the registry is a command; these four have flows of their own (below and above).
FLOW_COMMANDS = ("cells", "zc", "hl_evo", "generate", "export", "latency_table", "latency_model")


def _stage_commands() -> None:
    from nasgen.stages.registry import STAGES

    for s in STAGES.values():
        if s.section is not None and s.name not in FLOW_COMMANDS:
            _stage_command(s.name)


_stage_commands()


@app.command("hl-evo")
def hl_evo_cmd(
    ccnf: Annotated[str, typer.Argument(help="The ccnf artifact to search with.")],
    profile: ProfileOpt = "demo",
    config: ConfigOpt = None,
    sets: SetOpt = None,
    store: StoreOpt = None,
    device: DeviceOpt = "cpu",
    graphpnas: Annotated[
        str | None, typer.Option("--graphpnas", help="A graphpnas artifact: GenCell with hl_evo.cell_source=graphpnas.")
    ] = None,
    latency: Annotated[
        str | None, typer.Option("--latency", help="A latency_model artifact: with hl_evo.latency_device set.")
    ] = None,
) -> None:
    """HL-Evo (paper Algorithm 1) under each constraint level (hl-evo flow); print the artifact refs.
    ``--set 'hl_evo.levels=[{max_params: 500000}]'`` sets the levels, ``--set hl_evo.objective=zen`` the proxy."""
    from flows.hl_evo import hl_evo_flow

    run = _settle(profile, config, sets, store, device)
    _print_ref(hl_evo_flow(ccnf_uri=ccnf, run=run, graphpnas_uri=graphpnas, latency_uri=latency))


@app.command("pretrain")
def pretrain_cmd(profile: ProfileOpt = "demo", config: ConfigOpt = None, sets: SetOpt = None, store: StoreOpt = None,
                 device: DeviceOpt = "cpu") -> None:  # fmt: skip
    """Every pretrain stage (pretrain flow), cached; print the artifact refs."""
    from flows.pretrain import pretrain

    run = _settle(profile, config, sets, store, device)
    _print_ref(pretrain(run=run))


@app.command("generate")
def generate_cmd(
    max_params: Annotated[int | None, typer.Option("--max-params")] = None,
    max_flops: Annotated[int | None, typer.Option("--max-flops")] = None,
    max_latency_ms: Annotated[
        float | None,
        typer.Option(
            "--max-latency-ms", help="Latency budget (ms, batch 1) on --latency-device, from its latency model."
        ),
    ] = None,
    latency_device: Annotated[str, typer.Option("--latency-device", help="cpu | cuda | cuda:N")] = "cpu",
    zc: Annotated[list[str] | None, typer.Option("--zc", help='Reference ZC value, e.g. "naswot=190".')] = None,
    input_shape: Annotated[str, typer.Option("--input", help="C,H,W of the task.")] = "3,32,32",
    classes: Annotated[int, typer.Option("--classes")] = 10,
    n: Annotated[int | None, typer.Option("--n", help="Sequences to sample (default: profile).")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    sg_uri: Annotated[str | None, typer.Option("--sg", help="sg artifact (default: the profile's pretrained).")] = None,
    profile: ProfileOpt = "demo",
    config: ConfigOpt = None,
    sets: SetOpt = None,
    store: StoreOpt = None,
    device: DeviceOpt = "cpu",
) -> None:
    """Networks for a budget from the cached models (generate flow); print the chosen ones."""
    from flows.generate import generate, sg_of
    from nasgen.generate.report import show_generation
    from nasgen.generate.request import GenerateRequest
    from nasgen.stages import generate as generate_stage

    run = _settle(profile, config, sets, store, device)
    request = GenerateRequest(max_params=max_params, max_flops=max_flops, max_latency_ms=max_latency_ms,
                              latency_device=latency_device, zc=_key_values(zc or []),
                              input_shape=_ints(input_shape, "--input"), classes=classes, n=n, top_k=top_k,
                              seed=seed)  # fmt: skip
    sg_of(run.profile, store, sg_uri)  # fail fast: the pretrained models exist
    ref = generate(request=request, run=run, sg_uri=sg_uri)
    show_generation(generate_stage.summary(ref), ref.uri, console)


def _key_values(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[k.strip()] = float(v)
        except ValueError:
            raise NasgenError(f"--zc expects NAME=NUMBER, got {item!r}") from None
    return out


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise NasgenError(f"{what} expects comma-separated integers, got {text!r}") from None


# --- training the generated networks -------------------------------------------------------------------------

DatasetOpt = Annotated[
    str, typer.Option("--dataset", help="digits | synthetic | fashion_mnist | cifar10 | cifar100 | imagenet")
]
RootOpt = Annotated[str | None, typer.Option("--root", help="Local directory of the dataset (never downloaded).")]
SizeOpt = Annotated[int | None, typer.Option("--size", help="Image side for digits / imagenet.")]
EpochsOpt = Annotated[int | None, typer.Option("--epochs", help="Override the dataset recipe's epochs.")]
SeedOpt = Annotated[int | None, typer.Option("--seed")]


@dataclass(frozen=True)
class Training:
    """What every training command resolves before its flow starts: the dataset, recipe overrides and run."""

    dataset: Any  # DatasetConfig
    epochs: int | None
    seed: int | None
    run: Any  # flows.options.RunOptions


_KW = inspect.Parameter.KEYWORD_ONLY
TRAINING_OPTIONS = (
    inspect.Parameter("dataset", _KW, default="digits", annotation=DatasetOpt),
    inspect.Parameter("root", _KW, default=None, annotation=RootOpt),
    inspect.Parameter("size", _KW, default=None, annotation=SizeOpt),
    inspect.Parameter("epochs", _KW, default=None, annotation=EpochsOpt),
    inspect.Parameter("seed", _KW, default=None, annotation=SeedOpt),
    inspect.Parameter("profile", _KW, default="demo", annotation=ProfileOpt),
    inspect.Parameter("store", _KW, default=None, annotation=StoreOpt),
    inspect.Parameter("device", _KW, default="cpu", annotation=DeviceOpt),
)


def _training_command(name: str):
    """Register ``fn(<its own options>, training: Training)`` as command ``name`` with the shared dataset,
    recipe and run options (declared once, in TRAINING_OPTIONS), resolved and checked before any flow runs."""

    def register(fn):
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "training"]

        def command(**kwargs):
            from flows.evaluate import resolve_recipe
            from nasgen.train.config import DatasetConfig

            o = {p.name: kwargs.pop(p.name) for p in TRAINING_OPTIONS}
            ds = DatasetConfig(name=o["dataset"], root=o["root"], size=o["size"])
            resolve_recipe(ds.name, o["epochs"], o["seed"])  # fail fast on a dataset without a recipe
            run = _settle(o["profile"], None, None, o["store"], o["device"])
            fn(**kwargs, training=Training(ds, o["epochs"], o["seed"], run))

        command.__signature__ = inspect.Signature(own + list(TRAINING_OPTIONS))
        command.__doc__ = fn.__doc__
        app.command(name)(command)
        return fn

    return register


@_training_command("evaluate")
def evaluate_cmd(
    specs: Annotated[list[str], typer.Argument(help="MacroArch JSON files and/or generate artifact URIs.")],
    training: Training,
) -> None:
    """Train and evaluate networks (evaluate flow); print their test accuracy."""
    from flows.evaluate import evaluate, resolve_networks

    networks = []
    for item in specs:
        path = Path(item)
        if path.is_file():
            networks.append(path.read_text())
        elif item.endswith(".json"):
            raise NasgenError(f"cannot read {item}: no such file")
        else:
            networks.append(item)
    resolve_networks(networks)  # fail fast on a bad spec or URI
    t = training
    refs = evaluate(networks=networks, dataset=t.dataset, epochs=t.epochs, seed=t.seed, run=t.run)
    _print_trained(refs, f"trained on {t.dataset.name}")


def _print_trained(refs, title: str) -> None:
    from nasgen.stages.readers import metrics

    t = Table(title=title)
    for col in ("arch_id", "epochs", "test top-1", "test top-5", "best top-1", "seconds"):
        t.add_column(col, no_wrap=True)
    for ref in refs:
        m = metrics(ref)
        t.add_row(m["arch_id"], str(m["epochs"]), f"{m['test_top1']:.4f}", f"{m['test_top5']:.4f}",
                  f"{m['best_test_top1']:.4f}", f"{m['seconds']:.1f}")  # fmt: skip
    console.print(t)
    for ref in refs:
        console.print(f"artifact: {ref.uri}", soft_wrap=True)


@_training_command("select-and-train")
def select_cmd(
    generate_uri: Annotated[str, typer.Argument(help="A generate artifact (its chosen networks are the candidates).")],
    strategy: Annotated[
        str, typer.Option("--strategy", help="tcet (best T-CET) | reduced (short runs) | lce (extrapolated curves)")
    ] = "tcet",
    top_n: Annotated[int | None, typer.Option("--top-n", help="Networks given a short run (reduced, lce).")] = None,
    curves: Annotated[
        str | None, typer.Option("--curves", help="lce: a curves artifact (bench curves): its recipe, its curves.")
    ] = None,
    *,
    training: Training,
) -> None:
    """Final selection (paper Appendix F.1) among a generate artifact's networks, then full training of the winner."""
    from flows.evaluate import select_and_train
    from nasgen.config import with_overrides
    from nasgen.store import open_ref
    from nasgen.train.config import SelectionConfig

    selection = with_overrides(SelectionConfig(), "selection", strategy=strategy, top_n=top_n, curves=curves)
    if selection.strategy == "lce" and selection.curves is None:
        raise ConfigError("--strategy lce needs --curves URI (a curves artifact of `nasgen bench curves`)")
    open_ref(generate_uri, stage="generate")  # fail fast on a bad URI
    if selection.curves is not None:
        open_ref(selection.curves, stage="curves")
    t = training
    ref = select_and_train(generate_uri=generate_uri, dataset=t.dataset, selection=selection, epochs=t.epochs,
                           seed=t.seed, run=t.run)  # fmt: skip
    _print_trained([ref], f"selected by {selection.strategy}, trained on {t.dataset.name}")


# --- inspection ----------------------------------------------------------------------------------------------


@app.command("latency")
def latency_cmd(
    input_shape: Annotated[str, typer.Option("--input", help="C,H,W of the task.")] = "3,32,32",
    classes: Annotated[int, typer.Option("--classes")] = 10,
    profile: ProfileOpt = "demo",
    config: ConfigOpt = None,
    sets: SetOpt = None,
    store: StoreOpt = None,
    device: Annotated[str, typer.Option("--device", help="The device to measure: " + DEVICE_HELP)] = "cpu",
) -> None:
    """Measure this device's latency lookup table for the input, fit and validate the latency predictor
    (latency flow, cached per device); print the artifact refs."""
    from flows.latency import latency_flow

    shape = _ints(input_shape, "--input")
    if len(shape) != 3 or min(shape) < 1 or shape[1] != shape[2]:
        raise NasgenError(f"--input must be C,H,H with positive sizes, got {input_shape!r}")
    if classes < 1:
        raise NasgenError(f"--classes must be positive, got {classes}")
    _print_ref(latency_flow(input_shape=shape, classes=classes, run=_settle(profile, config, sets, store, device)))


@app.command("export")
def export_cmd(
    uri: Annotated[str, typer.Argument(help="A generate artifact (its rank-N network) or a trained artifact.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx | torchscript")] = "onnx",
    rank: Annotated[int, typer.Option("--rank", help="Which chosen network of a generate artifact.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Also copy the file and card into this directory.")] = None,
    profile: ProfileOpt = "demo",
    config: ConfigOpt = None,
    sets: SetOpt = None,
    store: StoreOpt = None,
    device: Annotated[str, typer.Option("--device", help="The card's latency device: " + DEVICE_HELP)] = "cpu",
) -> None:
    """Export a network as ONNX (dynamic batch) or TorchScript, checked against PyTorch, with its model card
    (Markdown and JSON); print the artifact ref."""
    from flows.export import export_flow
    from nasgen.stages.export import FILES, check
    from nasgen.store import open_ref, store_of

    check(open_ref(uri)[1].stage, fmt)  # fail fast: a bad URI, source or format
    ref = export_flow(source=uri, fmt=fmt, rank=rank, run=_settle(profile, config, sets, store, device))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name in (FILES[fmt], "card.json", "card.md"):
            (out / name).write_bytes(store_of(ref).read_bytes(ref, name))
        console.print(f"wrote {out / FILES[fmt]}, {out / 'card.md'}, {out / 'card.json'}")
    _print_ref(ref)


@app.command("describe")
def describe_cmd(
    file: Annotated[Path, typer.Argument(help="JSON file: a cell, a macro architecture or an HL sequence.")],
    normalise: Annotated[bool, typer.Option("--normalise", help="Drop dead nodes instead of rejecting them.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate a spec and print its ops, ids, params and FLOPs (analytic and counted on the built module)."""
    from nasgen.describe import describe
    from nasgen.space.macro import load_spec

    try:
        text = file.read_text()
    except OSError as e:
        raise NasgenError(f"cannot read {file}: {e.strerror}") from None
    info = describe(load_spec(text, normalise=normalise))
    if as_json:
        print(json.dumps(info, indent=2))
        return
    t = Table(title=f"{info['kind']} {info.get('cell_id') or info.get('arch_id') or info.get('seq_id')}")
    t.add_column("field")
    t.add_column("value")
    for k, v in info.items():
        t.add_row(k, json.dumps(v) if not isinstance(v, str) else v)
    console.print(t)


@store_app.command("ls")
def store_ls(store: StoreOpt = None, stage: Annotated[str | None, typer.Option("--stage")] = None) -> None:
    """List committed artifacts (those with a manifest)."""
    from nasgen.store import ArtifactStore

    st = ArtifactStore(store)
    rows = st.list(stage)
    t = Table(title=f"{st.root}: {len(rows)} artifacts")
    for col in ("stage", "key", "rows", "bytes", "created"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["stage"], r["key"], str(r["rows"]), str(r["bytes"]), str(r["created"]))
    console.print(t)


@store_app.command("verify")
def store_verify(store: StoreOpt = None) -> None:
    """Check every committed artifact: each file its manifest lists is present with its size and sha256."""
    from nasgen.errors import CorruptArtifactError
    from nasgen.maintenance import verify
    from nasgen.store import ArtifactStore

    report = verify(ArtifactStore(store))
    for p in report["problems"]:
        console.print(f"[red]{p}[/red]")
    if report["problems"]:
        raise CorruptArtifactError(f"{len(report['problems'])} problem(s) in {report['artifacts']} artifacts")
    console.print(f"{report['artifacts']} artifacts, {report['files']} files, {report['bytes']} bytes: consistent")


@store_app.command("gc")
def store_gc(
    store: StoreOpt = None,
    older_than: Annotated[
        float, typer.Option("--older-than", help="Only orphans last written this many seconds ago or earlier.")
    ] = 3600.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would go; remove nothing.")] = False,
) -> None:
    """Remove what no manifest names: attempts of writers that died or lost a race, half-committed manifests."""
    from nasgen.maintenance import gc
    from nasgen.store import ArtifactStore

    report = gc(ArtifactStore(store), older_than, dry_run)
    for p in report["removed"]:
        console.print(("would remove " if dry_run else "removed ") + p)
    console.print(f"{len(report['removed'])} orphan(s), {report['bytes']} bytes; {report['kept_young']} younger "
                  f"than {older_than:g} s kept")  # fmt: skip


# --- benchmarks: each prints its JSON, its command generated from benchmarks.registry --------------------------

# The options every benchmark shares, by the name of run's parameter: (flag, help).
BENCH_SHARED = {
    "profile": ("--profile", f"{' | '.join(PROFILE_NAMES)}: whose settings are measured."),
    "store": ("--store", "Store for the pipeline's artifacts (cached there)."),
    "device": ("--device", DEVICE_HELP),
    "plot": ("--plot", "Write a PNG here."),
    "overrides": ("--set", "SECTION.FIELD=VALUE override (repeat)."),
    "only": ("--method", "Run only this method (repeat); its name as in the result."),
}
BENCH_HIDDEN = ("progress", "bench")  # run's own: always the default


def _emit(result: dict, as_json: bool) -> None:
    print(json.dumps(result, indent=None if as_json else 2, default=float))


def _path(p: Path | None) -> str | None:
    return None if p is None else str(p)


def cli_type(hint: Any) -> tuple[Any, Callable[[Any], Any]] | None:
    """(the command line's type, its conversion to run's) for a parameter's type hint; None: not spellable."""
    import types
    import typing
    from collections.abc import Sequence

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        plain = [a for a in args if a in (str, int, float, bool)]  # str | Profile: a profile's name
        return cli_type(args[0]) if len(args) == 1 else cli_type(plain[0]) if len(plain) == 1 else None
    origin = typing.get_origin(hint)
    if hint in (str, int, float, bool):
        return hint, lambda v: v
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in (str, int):
        return str, lambda v, t=args[0]: None if v is None else tuple(t(x) for x in str(v).split(",") if x)
    if origin in (list, Sequence) and args == [str]:
        return list[str], lambda v: list(v) if v else None
    return None


def _bench_command(b) -> None:
    """`nasgen bench <b.name>`: one option per keyword parameter of ``b``'s run function."""
    import typing

    fn = b.load()
    hints = typing.get_type_hints(fn)
    params, convert = [], {}
    for p in inspect.signature(fn).parameters.values():
        if p.name in BENCH_HIDDEN or p.default is inspect.Parameter.empty:
            continue
        found = (list[str], lambda v: parse_overrides(v or [])) if p.name == "overrides" else cli_type(hints[p.name])
        if found is None:
            continue
        kind, convert[p.name] = found
        flag, text = BENCH_SHARED.get(p.name, (f"--{p.name.replace('_', '-')}", b.help.get(p.name, "")))
        if kind is bool:
            flag = f"{flag}/--no-{flag[2:]}"
        default = p.default
        if kind is str and isinstance(default, tuple):
            default = ",".join(str(x) for x in default)
        if isinstance(default, dict) or kind == list[str]:
            default = None
        optional = kind if default is not None else kind | None
        params.append(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=Annotated[optional, typer.Option(flag, help=text)]))  # fmt: skip
    params.append(inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOpt))

    def command(**options) -> None:
        as_json = options.pop("as_json")
        _emit(fn(**{k: convert[k](v) for k, v in options.items()}), as_json)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = b.summary
    bench_app.command(b.name)(command)


def _bench_commands() -> None:
    from benchmarks.registry import BENCHMARKS

    for b in BENCHMARKS.values():
        _bench_command(b)


_bench_commands()


# --- production ----------------------------------------------------------------------------------------------


@app.command("rehearse")
def rehearse_cmd(
    profile: ProfileOpt = "paper",
    config: ConfigOpt = None,
    sets: SetOpt = None,
    device: DeviceOpt = "cpu",
    as_json: JsonOpt = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also save the JSON here.")] = None,
) -> None:
    """Every pretrain stage and generate at the profile's model sizes on a small slice of its data (section
    `rehearse`), in a temporary store: time per unit of work, peak memory, the full profile's extrapolated cost
    beside the paper's Appendix A."""
    from benchmarks.rehearse import rehearse, table
    from nasgen.config import resolve_profile

    result = rehearse(resolve_profile(profile, config), device=device, overrides=parse_overrides(sets or []))
    if out is not None:
        out.write_text(json.dumps(result, indent=2, default=float))
    print(json.dumps(result, default=float) if as_json else table(result))


@app.command("deploy")
def deploy_cmd(
    gpus: Annotated[int, typer.Option("--gpus", help="Concurrency limit of the gpu pool (its GPUs).")] = 1,
    cpu_limit: Annotated[int, typer.Option("--cpu-limit", help="Concurrency limit of the cpu pool.")] = 4,
    code_dir: Annotated[str | None, typer.Option("--code-dir", help="Where workers find this code.")] = None,
    store: Annotated[str | None, typer.Option("--store", help="The store every worker uses.")] = None,
) -> None:
    """Create the cpu/gpu work pools and the zombie-run automation, and register every deployment
    (deployments/prefect.yaml) on the server PREFECT_API_URL names."""
    from deployments.deploy import apply

    for name in apply(gpus=gpus, cpu_limit=cpu_limit, code_dir=code_dir, store=store):
        console.print(f"deployment: {name}")


@app.command("worker")
def worker_cmd(
    pool: Annotated[str, typer.Option("--pool", help="cpu | gpu")] = "gpu",
    gpu: Annotated[int | None, typer.Option("--gpu", help="The GPU it drives (sets CUDA_VISIBLE_DEVICES).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Concurrent runs (default: 1 on a GPU).")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """A process worker for a pool; with --gpu, one flow run at a time on that GPU only."""
    import os

    env = dict(os.environ)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        limit = 1 if limit is None else limit
    cmd = [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool", pool, "--type", "process",
           "--name", name or (f"{pool}-{gpu}" if gpu is not None else f"{pool}-{os.getpid()}")]  # fmt: skip
    if limit is not None:
        cmd += ["--limit", str(limit)]
    os.execve(cmd[0], cmd, env)


@app.command("demo")
def demo(profile: ProfileOpt = "demo", config: ConfigOpt = None, sets: SetOpt = None, store: StoreOpt = None) -> None:
    """The whole pipeline at a profile: pretrain (every stage, cached), then generate for the demo budget."""
    from flows.demo import run_demo

    run_demo(profile=_settle(profile, config, sets).profile, store=store, console=console)


def main() -> None:
    try:
        app()
    except (NasgenError, ValidationError) as e:
        if _state["debug"]:
            raise
        msg = str(e).splitlines()[0] if isinstance(e, NasgenError) else str(e).replace("\n", "; ")
        print(f"error: {msg}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
