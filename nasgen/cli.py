"""The `nasgen` command. Bad input exits with code 2 and one line naming the problem (--debug: traceback)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from nasgen.errors import NasgenError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)
cells_app = typer.Typer(no_args_is_help=True, help="Sample and inspect cells.")
store_app = typer.Typer(no_args_is_help=True, help="Inspect the artifact store.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (print JSON).")
app.add_typer(cells_app, name="cells")
app.add_typer(store_app, name="store")
app.add_typer(bench_app, name="bench")
console = Console()
_state = {"debug": False}


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks.")) -> None:
    """nasgen: hierarchical generative neural architecture search."""
    _state["debug"] = debug


@cells_app.command("sample")
def cells_sample(
    n: int = typer.Option(None, "--n", help="Number of unique cells (default: profile)."),
    seed: int = typer.Option(None, "--seed"),
    shard_size: int = typer.Option(None, "--shard-size"),
    store: str = typer.Option(None, "--store", help="Store URI (default $NASGEN_STORE or ./artifacts)."),
    profile: str = typer.Option("demo", "--profile"),
) -> None:
    """Run the sample-cells flow and print the resulting artifact ref."""
    from flows.sample_cells import resolve_config, sample_cells

    resolve_config(profile, n=n, seed=seed, shard_size=shard_size)  # fail fast, before Prefect starts
    ref = sample_cells(n=n, seed=seed, shard_size=shard_size, store=store, profile=profile)
    console.print_json(ref.model_dump_json())


@app.command("score")
def score(
    cells: str = typer.Option(None, "--cells", help="URI of a cells artifact (default: the profile's, in --store)."),
    runner: str = typer.Option("threads", "--runner", help="threads | processes | dask://HOST:PORT"),
    shard_size: int = typer.Option(None, "--shard-size", help="Cells per shard (default: profile)."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N | auto"),
    limit: int = typer.Option(
        None, "--limit", help="Score the first N cells (default: the profile's labelled subset)."
    ),
    max_workers: int = typer.Option(None, "--max-workers", help="Parallel shards (threads/processes)."),
    store: str = typer.Option(
        None, "--store", help="Store for the zc artifact (default: the cells' store, else $NASGEN_STORE, ./artifacts)."
    ),
    profile: str = typer.Option("demo", "--profile"),
) -> None:
    """ZC-score cells with the score-cells flow (sharded, cached, resumable) and print the artifact ref."""
    from flows.score_cells import make_task_runner, resolve_scoring, score_cells
    from nasgen.zc.scorer import resolve_device

    resolve_scoring(profile, shard_size, limit)  # fail fast, before Prefect starts
    resolve_device(device)
    make_task_runner(runner, max_workers)
    ref = score_cells(
        cells=cells, profile=profile, store=store, shard_size=shard_size, limit=limit, device=device,
        runner=runner, max_workers=max_workers, show_progress=True,
    )  # fmt: skip
    console.print_json(ref.model_dump_json())


@app.command("cluster")
def cluster(
    zc_uri: str = typer.Option(..., "--zc", help="URI of a zc artifact (printed by `nasgen score`)."),
    k_max: int = typer.Option(None, "--k-max", help="Largest K tried (default: profile)."),
    seed: int = typer.Option(None, "--seed"),
    store: str = typer.Option(None, "--store", help="Store for the clusters artifact (default: the zc store)."),
    profile: str = typer.Option("demo", "--profile"),
) -> None:
    """Fit GMM cell families on the ZC vectors (fit-clusters flow) and print the artifact ref."""
    from flows.fit_clusters import fit_clusters, resolve_clusters

    resolve_clusters(profile, k_max, seed)  # fail fast, before Prefect starts
    ref = fit_clusters(zc_uri=zc_uri, profile=profile, store=store, k_max=k_max, seed=seed)
    console.print_json(ref.model_dump_json())


@app.command("gvae")
def gvae_cmd(
    clusters_uri: str = typer.Option(
        ..., "--clusters", help="URI of a clusters artifact (printed by `nasgen cluster`)."
    ),
    epochs: int = typer.Option(None, "--epochs"),
    naive: bool = typer.Option(False, "--naive", help="No triplet/predictor terms (paper Fig. 2b)."),
    encoder: str = typer.Option(None, "--encoder", help="gcn (default) | gin (arch2vec ablation)"),
    store: str = typer.Option(None, "--store", help="Store for the gvae artifact (default: the clusters' store)."),
    profile: str = typer.Option("demo", "--profile"),
    device: str = typer.Option("auto", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """Train the G-VAE (train-gvae flow), print the artifact ref and its metrics."""
    from flows.train_gvae import resolve_gvae, train_gvae

    weights = {"triplet_weight": 0.0, "predictor_weight": 0.0} if naive else {}
    from nasgen.zc.scorer import resolve_device

    resolve_gvae(profile, epochs=epochs, encoder=encoder, **weights)  # fail fast, before Prefect starts
    resolve_device(device)
    ref = train_gvae(clusters_uri=clusters_uri, profile=profile, store=store, epochs=epochs, encoder=encoder,
                     device=device, **weights)  # fmt: skip
    console.print_json(ref.model_dump_json())


@app.command("ccnf")
def ccnf_cmd(
    gvae_uri: str = typer.Option(..., "--gvae", help="URI of a gvae artifact (printed by `nasgen gvae`)."),
    epochs: int = typer.Option(None, "--epochs"),
    adjoint: bool = typer.Option(None, "--adjoint/--no-adjoint", help="Gradients by the adjoint method."),
    store: str = typer.Option(None, "--store", help="Store for the ccnf artifact (default: the G-VAE's store)."),
    profile: str = typer.Option("demo", "--profile"),
    device: str = typer.Option("auto", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """Train the CCNF (train-ccnf flow) on a G-VAE's latents, print the artifact ref."""
    from flows.train_ccnf import resolve_ccnf, train_ccnf
    from nasgen.zc.scorer import resolve_device

    resolve_ccnf(profile, epochs=epochs, adjoint=adjoint)  # fail fast, before Prefect starts
    resolve_device(device)
    ref = train_ccnf(gvae_uri=gvae_uri, profile=profile, store=store, epochs=epochs, adjoint=adjoint, device=device)
    console.print_json(ref.model_dump_json())


@app.command("search")
def search_cmd(
    ccnf_uri: str = typer.Option(..., "--ccnf", help="URI of a ccnf artifact (printed by `nasgen ccnf`)."),
    iterations: int = typer.Option(None, "--iterations", help="T of Algorithm 1."),
    population: int = typer.Option(None, "--population", help="N of Algorithm 1."),
    max_params: list[int] = typer.Option(None, "--max-params", help="Constraint levels (repeat); default: profile."),
    seed: int = typer.Option(None, "--seed"),
    objective: str = typer.Option(None, "--objective", help="tcet | zen | zico (default: the profile's)."),
    store: str = typer.Option(None, "--store", help="Store for the hl_evo artifacts (default: the CCNF's store)."),
    profile: str = typer.Option("demo", "--profile"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """HL-Evo (hl-evo flow) under each constraint level; print the artifact refs."""
    from flows.hl_evo import hl_evo, resolve_search
    from nasgen.zc.scorer import resolve_device

    resolve_search(profile, max_params, objective, iterations=iterations, population=population, seed=seed)
    resolve_device(device)
    refs = hl_evo(ccnf_uri=ccnf_uri, profile=profile, store=store, iterations=iterations, population=population,
                  max_params=max_params or None, seed=seed, objective=objective, device=device)  # fmt: skip
    console.print_json(json.dumps([r.model_dump() for r in refs]))


@app.command("sg")
def sg_cmd(
    search_uris: list[str] = typer.Option(..., "--search", help="hl_evo artifact URI (repeat: one per level)."),
    epochs: int = typer.Option(None, "--epochs"),
    base_model: str = typer.Option(None, "--base-model", help="Local GPT-Neo checkpoint directory to fine-tune."),
    store: str = typer.Option(None, "--store", help="Store for the sg artifact (default: the first history's)."),
    profile: str = typer.Option("demo", "--profile"),
    device: str = typer.Option("auto", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """Train the sequence generator (train-sg flow) on HL-Evo histories, print the artifact ref."""
    from flows.train_sg import resolve_sg, train_sg
    from nasgen.zc.scorer import resolve_device

    resolve_sg(profile, epochs=epochs, base_model=base_model)
    resolve_device(device)
    ref = train_sg(search_uris=search_uris, profile=profile, store=store, epochs=epochs, base_model=base_model,
                   device=device)  # fmt: skip
    console.print_json(ref.model_dump_json())


@app.command("pretrain")
def pretrain_cmd(
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store", help="Store URI (default $NASGEN_STORE or ./artifacts)."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """Every pretrain stage (pretrain flow), cached; print the artifact refs."""
    from flows.pretrain import pretrain
    from nasgen.config import get_profile
    from nasgen.zc.scorer import resolve_device

    get_profile(profile)
    resolve_device(device)
    refs = pretrain(profile=profile, store=store, device=device)
    console.print_json(json.dumps({k: v.model_dump() if hasattr(v, "model_dump") else [x.model_dump() for x in v]
                                   for k, v in refs.items()}))  # fmt: skip


@app.command("generate")
def generate_cmd(
    max_params: int = typer.Option(None, "--max-params"),
    max_flops: int = typer.Option(None, "--max-flops"),
    zc: list[str] = typer.Option([], "--zc", help='Reference ZC value, e.g. "naswot=190" (repeat).'),
    input_shape: str = typer.Option("3,32,32", "--input", help="C,H,W of the task."),
    classes: int = typer.Option(10, "--classes"),
    n: int = typer.Option(None, "--n", help="Sequences to sample (default: profile)."),
    top_k: int = typer.Option(None, "--top-k"),
    seed: int = typer.Option(0, "--seed"),
    sg_uri: str = typer.Option(None, "--sg", help="sg artifact URI (default: the profile's pretrained one)."),
    store: str = typer.Option(None, "--store"),
    profile: str = typer.Option("demo", "--profile"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """Networks for a budget from the cached models (generate flow); print the chosen ones."""
    from flows.generate import generate, resolve_sg_ref
    from nasgen.generate.report import show_generation
    from nasgen.generate.request import GenerateRequest
    from nasgen.store import open_ref

    request = GenerateRequest(max_params=max_params, max_flops=max_flops, zc=_key_values(zc),
                              input_shape=_ints(input_shape, "--input"), classes=classes, n=n, top_k=top_k,
                              seed=seed)  # fmt: skip
    request.check_feasible()
    resolve_sg_ref(profile, store, sg_uri)  # fail fast: the pretrained models exist
    ref = generate(request=request, profile=profile, store=store, sg_uri=sg_uri, device=device)
    st, r = open_ref(ref.uri)
    show_generation(st.read_json(r, "summary.json"), ref.uri, console)


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


@app.command("train")
def train_cmd(
    specs: list[str] = typer.Argument(..., help="MacroArch JSON files and/or generate artifact URIs."),
    dataset: str = typer.Option("digits", "--dataset", help="digits | synthetic | cifar10 | cifar100 | imagenet"),
    root: str = typer.Option(None, "--root", help="Local directory of the dataset (nothing is downloaded)."),
    size: int = typer.Option(None, "--size", help="Image side for digits / imagenet."),
    epochs: int = typer.Option(None, "--epochs", help="Override the dataset recipe's epochs."),
    seed: int = typer.Option(None, "--seed"),
    store: str = typer.Option(None, "--store"),
    profile: str = typer.Option("demo", "--profile"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """Train and evaluate networks (evaluate flow); print their test accuracy."""
    from flows.evaluate import evaluate, resolve_networks, resolve_recipe
    from nasgen.config import DatasetConfig
    from nasgen.zc.scorer import resolve_device

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
    ds = DatasetConfig(name=dataset, root=root, size=size)
    resolve_recipe(dataset, epochs, seed)
    resolve_device(device)
    refs = evaluate(networks=networks, dataset=ds, epochs=epochs, seed=seed, profile=profile, store=store,
                    device=device)  # fmt: skip
    _print_trained([r.uri for r in refs], f"trained on {dataset}")


def _print_trained(uris: list[str], title: str) -> None:
    from nasgen.store import open_ref

    t = Table(title=title)
    for col in ("arch_id", "epochs", "test top-1", "test top-5", "best top-1", "seconds"):
        t.add_column(col, no_wrap=True)
    for uri in uris:
        st, ref = open_ref(uri)
        m = st.read_json(ref, "metrics.json")
        t.add_row(m["arch_id"], str(m["epochs"]), f"{m['test_top1']:.4f}", f"{m['test_top5']:.4f}",
                  f"{m['best_test_top1']:.4f}", f"{m['seconds']:.1f}")  # fmt: skip
    console.print(t)
    for uri in uris:
        console.print(f"artifact: {uri}", soft_wrap=True)


@app.command("select")
def select_cmd(
    generate_uri: str = typer.Argument(..., help="A generate artifact (its chosen networks are the candidates)."),
    dataset: str = typer.Option("digits", "--dataset", help="digits | synthetic | cifar10 | cifar100 | imagenet"),
    root: str = typer.Option(None, "--root", help="Local directory of the dataset (nothing is downloaded)."),
    size: int = typer.Option(None, "--size", help="Image side for digits / imagenet."),
    strategy: str = typer.Option("tcet", "--strategy", help="tcet (best T-CET) | reduced (short runs of the top-N)"),
    top_n: int = typer.Option(None, "--top-n", help="Networks given a short run (reduced)."),
    epochs: int = typer.Option(None, "--epochs", help="Override the dataset recipe's epochs (final training)."),
    seed: int = typer.Option(None, "--seed"),
    store: str = typer.Option(None, "--store", help="Where trained networks go (default: the generate store)."),
    profile: str = typer.Option("demo", "--profile"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N | auto"),
) -> None:
    """Final selection (paper Appendix F.1) among a generate artifact's networks, then full training of the winner."""
    from flows.evaluate import resolve_recipe, select_and_train
    from nasgen.config import DatasetConfig, SelectionConfig, with_overrides
    from nasgen.store import open_ref
    from nasgen.zc.scorer import resolve_device

    selection = with_overrides(SelectionConfig(), "selection", strategy=strategy, top_n=top_n)
    open_ref(generate_uri, stage="generate")  # fail fast on a bad URI
    ds = DatasetConfig(name=dataset, root=root, size=size)
    resolve_recipe(dataset, epochs, seed)
    resolve_device(device)
    ref = select_and_train(generate_uri=generate_uri, dataset=ds, selection=selection, epochs=epochs, seed=seed,
                           profile=profile, store=store, device=device)  # fmt: skip
    _print_trained([ref.uri], f"selected by {selection.strategy}, trained on {dataset}")


@app.command("describe")
def describe_cmd(
    file: Path = typer.Argument(..., help="JSON file: a cell, a macro architecture or an HL sequence."),
    normalise: bool = typer.Option(False, "--normalise", help="Drop dead nodes instead of rejecting them."),
    as_json: bool = typer.Option(False, "--json"),
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
def store_ls(
    store: str = typer.Option(None, "--store"),
    stage: str = typer.Option(None, "--stage"),
) -> None:
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


@bench_app.command("space")
def bench_space(
    as_json: bool = typer.Option(False, "--json"),
    n: int = typer.Option(400_000, "--n", help="Unique cells to sample."),
    macros: int = typer.Option(20_000, "--macros", help="Random macros for the cost-model throughput."),
    space_samples: int = typer.Option(2000, "--space-samples"),
) -> None:
    """Space benchmark: sampling 400k unique cells, cost-model throughput, size of the micro space."""
    from benchmarks.space import run

    result = run(n=n, macros=macros, space_samples=space_samples)
    print(json.dumps(result, indent=2 if not as_json else None, default=float))


@bench_app.command("zc")
def bench_zc(
    as_json: bool = typer.Option(False, "--json"),
    cells: int = typer.Option(6, "--cells", help="Random cells per config (after one warm-up cell)."),
    device: str = typer.Option("cpu", "--device"),
    configs: str = typer.Option("paper,demo", "--configs", help="Profiles whose ZC config to measure."),
    standalone: bool = typer.Option(True, "--standalone/--no-standalone", help="Also time each proxy alone."),
) -> None:
    """ZC benchmark: per-proxy and total seconds per cell, overhead factor vs one forward+backward."""
    from benchmarks.zc import run

    result = run(cells=cells, device=device, configs=tuple(configs.split(",")), standalone=standalone)
    print(json.dumps(result, indent=None if as_json else 2, default=float))


@bench_app.command("gvae")
def bench_gvae(
    as_json: bool = typer.Option(False, "--json"),
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store", help="Store for the pipeline's artifacts (cached there)."),
) -> None:
    """G-VAE benchmark: reconstruction, validity, uniqueness, novelty, ZC preservation, R2; regularised vs naive."""
    from benchmarks.gvae import run

    print(json.dumps(run(profile=profile, store=store), indent=None if as_json else 2, default=float))


@bench_app.command("ccnf")
def bench_ccnf(
    as_json: bool = typer.Option(False, "--json"),
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store", help="Store for the pipeline's artifacts (cached there)."),
    n: int = typer.Option(100, "--n", help="Latents drawn per sampling method."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of the samples' ZC vectors here."),
) -> None:
    """CCNF benchmark (paper Table 8): random vs neighbourhood vs CCNF sampling around the NB-201 best cell."""
    from benchmarks.ccnf import run

    result = run(profile=profile, store=store, n=n, plot=None if plot is None else str(plot))
    print(json.dumps(result, indent=None if as_json else 2, default=float))


@bench_app.command("search")
def bench_search(
    as_json: bool = typer.Option(False, "--json"),
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store", help="Store for the pipeline's artifacts (cached there)."),
    seeds: int = typer.Option(3, "--seeds"),
    max_params: int = typer.Option(1_000_000, "--max-params"),
    objective: str = typer.Option(None, "--objective", help="tcet | zen | zico (default: the profile's)."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of the curves and Pareto fronts here."),
) -> None:
    """Search benchmark: HL-Evo vs raw-space Evo vs random search, best objective (T-CET) vs ZC evaluations."""
    from benchmarks.search import run

    result = run(profile=profile, store=store, seeds=seeds, max_params=max_params, objective=objective,
                 plot=None if plot is None else str(plot))  # fmt: skip
    print(json.dumps(result, indent=None if as_json else 2, default=float))


@bench_app.command("generate")
def bench_generate(
    as_json: bool = typer.Option(False, "--json"),
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store", help="Store for the pipeline's artifacts (cached there)."),
    seeds: int = typer.Option(3, "--seeds"),
    n: int = typer.Option(100, "--n", help="Sequences per generate request."),
    max_params: int = typer.Option(1_000_000, "--max-params"),
) -> None:
    """Generate benchmark: validity, budget satisfaction, latency, and SG+CCNF vs searches on the same budget."""
    from benchmarks.generate import run

    result = run(profile=profile, store=store, seeds=seeds, n=n, max_params=max_params)
    print(json.dumps(result, indent=None if as_json else 2, default=float))


@bench_app.command("evaluate")
def bench_evaluate(
    as_json: bool = typer.Option(False, "--json"),
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store", help="Store for the pipeline's and trained networks' artifacts."),
    seeds: int = typer.Option(3, "--seeds"),
    n: int = typer.Option(100, "--n", help="Sequences per generate request (its ZC evaluations set the budget)."),
    top_k: int = typer.Option(3, "--top-k", help="Networks trained per method and seed."),
    epochs: int = typer.Option(6, "--epochs"),
    max_params: int = typer.Option(500_000, "--max-params"),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of T-CET vs test top-1 here."),
) -> None:
    """Evaluate benchmark on digits: test top-1 of the top-k generated networks vs random and raw-Evo picks."""
    from benchmarks.evaluate import run

    result = run(profile=profile, store=store, seeds=seeds, n=n, top_k=top_k, epochs=epochs, max_params=max_params,
                 plot=None if plot is None else str(plot))  # fmt: skip
    print(json.dumps(result, indent=None if as_json else 2, default=float))


@bench_app.command("nb201")
def bench_nb201(
    as_json: bool = typer.Option(False, "--json"),
    n: int = typer.Option(1000, "--n", help="Architectures in the seeded sample."),
    all_archs: bool = typer.Option(False, "--all", help="All 15,625 architectures (hours on 2 cores)."),
    seed: int = typer.Option(0, "--seed"),
    profile: str = typer.Option("demo", "--profile", help="Whose ZC config scores the networks."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N | auto"),
    naslib: bool = typer.Option(True, "--naslib/--no-naslib", help="Also score NASLib's 491 and compare."),
    ablation_n: int = typer.Option(300, "--ablation-n", help="Sub-sample on which each ZC choice is flipped."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of the correlations and families here."),
    scores: Path = typer.Option(None, "--scores", help="Write every architecture's proxies here (Parquet)."),
) -> None:
    """NB-201 benchmark: Spearman/Kendall of every proxy and variant with CIFAR-10 accuracy, beside the
    published figures and NASLib's proxies; ZC choices measured; GMM families of z(x) with accuracy (Table 7)."""
    from benchmarks.nb201 import run

    if n < 1:
        raise typer.BadParameter("--n must be at least 1")
    result = run(n=None if all_archs else n, seed=seed, profile=profile, device=device, naslib=naslib,
                 ablation_n=ablation_n, plot=None if plot is None else str(plot),
                 scores=None if scores is None else str(scores))  # fmt: skip
    print(json.dumps(result, indent=None if as_json else 2, default=float))


@bench_app.command("gvae-sweep")
def bench_gvae_sweep(
    variant: list[str] = typer.Option([], "--variant", help='GVAEConfig overrides, e.g. "beta_kl=0.02,epochs=120".'),
    as_json: bool = typer.Option(False, "--json"),
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store"),
    device: str = typer.Option("auto", "--device", help="cpu | cuda | cuda:N | auto"),
    jobs: int = typer.Option(1, "--jobs", help="Variants trained in parallel processes."),
) -> None:
    """Train G-VAE variants side by side on the same data; print their metrics."""
    from benchmarks.gvae_sweep import run

    result = run(list(variant), profile=profile, store=store, device=device, jobs=jobs)
    print(json.dumps(result, indent=None if as_json else 2, default=float))


@app.command("deploy")
def deploy_cmd(
    gpus: int = typer.Option(1, "--gpus", help="Concurrency limit of the gpu pool: the GPUs its workers drive."),
    cpu_limit: int = typer.Option(4, "--cpu-limit", help="Concurrency limit of the cpu pool."),
    code_dir: str = typer.Option(None, "--code-dir", help="Where workers find this code (default: this checkout)."),
    store: str = typer.Option(None, "--store", help="The store every worker uses (default: $NASGEN_STORE)."),
) -> None:
    """Create the cpu/gpu work pools and the zombie-run automation, and register every deployment
    (deployments/prefect.yaml) on the server PREFECT_API_URL names."""
    from deployments.deploy import apply

    for name in apply(gpus=gpus, cpu_limit=cpu_limit, code_dir=code_dir, store=store):
        console.print(f"deployment: {name}")


@app.command("worker")
def worker_cmd(
    pool: str = typer.Option("gpu", "--pool", help="cpu | gpu"),
    gpu: int = typer.Option(None, "--gpu", help="The GPU this worker drives (sets CUDA_VISIBLE_DEVICES)."),
    limit: int = typer.Option(None, "--limit", help="Concurrent flow runs (default: 1 on a GPU, else unlimited)."),
    name: str = typer.Option(None, "--name"),
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
def demo(
    profile: str = typer.Option("demo", "--profile"),
    store: str = typer.Option(None, "--store"),
) -> None:
    """The whole pipeline at a profile: pretrain (every stage, cached), then generate for the demo budget."""
    from flows.demo import run_demo

    run_demo(profile=profile, store=store, console=console)


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
