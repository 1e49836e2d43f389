"""Flow `evaluate`: train and evaluate a list of networks, fanned out (one task each; one GPU each on a pool).

Networks come as MacroArch JSON specs or as `generate` artifact URIs (their chosen networks). Each is a
cached task keyed by (architecture id, dataset, recipe, seed): a network already trained in that setting
is never trained again. Ad hoc: ``from flows.evaluate import evaluate``.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.export import attach_cards
from flows.options import RunOptions
from flows.reporting import artifact_key, results_with_progress
from nasgen.config import with_overrides
from nasgen.device import thread_share
from nasgen.errors import ConfigError
from nasgen.space.macro import MacroArch
from nasgen.stages import curves as curves_stage
from nasgen.stages import generate as generate_stage
from nasgen.stages.readers import metrics
from nasgen.store import ArtifactStore, Ref, open_ref
from nasgen.train.config import RECIPES, DatasetConfig, SelectionConfig, TrainRecipe
from nasgen.train.selection import Ranked, reduced_recipe, select
from tasks.stage import run_stage, submit_stage


def resolve_networks(networks: list[str]) -> list[MacroArch]:
    """Specs (JSON text) or generate artifact URIs, in order, duplicates kept once."""
    out: dict[str, MacroArch] = {}
    for item in networks:
        if item.lstrip().startswith("{"):
            macros = [MacroArch.from_json(item)]
        else:
            macros = [m for m, _ in generate_stage.chosen_macros(open_ref(item, stage=generate_stage.STAGE)[1])]
        out.update({m.arch_id: m for m in macros})
    if not out:
        raise ConfigError("no networks to evaluate: give MacroArch specs or generate artifact URIs")
    return list(out.values())


def resolve_recipe(dataset: str, epochs: int | None = None, seed: int | None = None) -> TrainRecipe:
    if dataset not in RECIPES:
        raise ConfigError(f"no recipe for dataset {dataset!r}; recipes exist for {', '.join(RECIPES)}")
    return with_overrides(RECIPES[dataset], "evaluate", epochs=epochs, seed=seed)


@flow(name="evaluate", log_prints=True)
def evaluate(
    networks: list[str],
    dataset: DatasetConfig,
    epochs: int | None = None,
    seed: int | None = None,
    run: RunOptions = RunOptions(),
) -> list[Ref]:
    """Train every network on ``dataset`` under its recipe (``epochs``/``seed`` override it)."""
    log = get_run_logger()
    prof, device = run.settle()
    macros = resolve_networks(networks)
    recipe = resolve_recipe(dataset.name, epochs, seed)
    st = ArtifactStore(run.store)
    with thread_share(len(macros), device):  # the networks train at once: their threads share the cores
        futures = [submit_stage("trained", prof.orchestration, store=st.root, macro=m, dataset=dataset,
                                recipe=recipe, device=device) for m in macros]  # fmt: skip
        refs = results_with_progress(futures, f"evaluate: {len(futures)} networks on {dataset.name}")
    rows = [{"uri": r.uri, **metrics(r)} for r in refs]
    attach_cards([(r, 1) for r in refs], prof.export, device)
    create_table_artifact(rows, key=artifact_key("evaluate", dataset.name, recipe.epochs, "epochs"),
                          description=f"evaluate: {dataset.name}, {recipe.epochs} epochs")  # fmt: skip
    for r in rows:
        log.info("evaluate %s on %s: test top-1 %.4f after %d epochs", r["arch_id"], r["dataset"], r["test_top1"],
                 r["epochs"])  # fmt: skip
    return refs


@flow(name="select-and-train", log_prints=True)
def select_and_train(
    generate_uri: str,
    dataset: DatasetConfig,
    selection: SelectionConfig = SelectionConfig(),
    epochs: int | None = None,
    seed: int | None = None,
    run: RunOptions = RunOptions(),
) -> Ref:
    """Pick the final network among a `generate` artifact's chosen ones (T-CET, reduced training of the top-N on a
    validation split, or learning-curve extrapolation from a curve table), then train it with the full recipe;
    returns its `trained` artifact."""
    log = get_run_logger()
    g_store, g_ref = open_ref(generate_uri, stage=generate_stage.STAGE)
    ranked = [Ranked(m, tcet) for m, tcet in generate_stage.chosen_macros(g_ref)]
    recipe = resolve_recipe(dataset.name, epochs, seed)
    st = g_store if run.store is None else ArtifactStore(run.store)
    prof, device = run.settle()
    orchestration = prof.orchestration

    def run(macro: MacroArch, ds: DatasetConfig, r: TrainRecipe) -> Ref:
        return run_stage("trained", orchestration, store=st.root, macro=macro, dataset=ds, recipe=r, device=device)

    short, held_out = (
        reduced_recipe(recipe, selection),
        dataset.model_copy(update={"val_fraction": selection.val_fraction}),
    )
    extrapolate = None
    if selection.strategy == "lce":
        if selection.curves is None:
            raise ConfigError("lce selection needs a curve table: selection.curves=<curves artifact URI>")
        extrapolate = curves_stage.lce_extrapolator(open_ref(selection.curves, stage=curves_stage.STAGE)[1],
                                                    prof.lce, run, device)  # fmt: skip
    macro, rows = select(ranked, selection, lambda m: metrics(run(m, held_out, short))["val_top1"], extrapolate)
    final = run(macro, dataset, recipe)
    create_table_artifact(rows, key=artifact_key("select-and-train", g_ref.key),
                          description=f"select-and-train ({selection.strategy}): {macro.arch_id} chosen")  # fmt: skip
    m = metrics(final)
    log.info("select-and-train: %s chosen by %s; test top-1 %.4f after %d epochs", macro.arch_id,
             selection.strategy, m["test_top1"], m["epochs"])  # fmt: skip
    return final
