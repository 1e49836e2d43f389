"""Stages `sg` and `generate` on the tiny trained models: artifacts, caching, export, errors; and the
pretrain + generate flows end to end at the tiny profile, through Python and the CLI."""

import numpy as np
import pytest
import torch

from flows.options import RunOptions
from nasgen.errors import ArtifactMissingError, ConfigError, CorruptArtifactError, NasgenError
from nasgen.generate import candidates
from nasgen.generate.candidates import NoFeasibleNetworkError
from nasgen.generate.config import GenerateConfig
from nasgen.generate.request import GenerateRequest
from nasgen.generate.width import scaled
from nasgen.latency.config import LatencyModelConfig, LatencyTableConfig, TimingConfig
from nasgen.search.config import ConstraintConfig, HLEvoConfig
from nasgen.search.hl_evo import initial_candidate, initial_cluster
from nasgen.search.objective import satisfies
from nasgen.sg.config import SGConfig
from nasgen.sg.sampling import generate as sample_sequences
from nasgen.space.cost import macro_cost
from nasgen.space.macro import MacroArch
from nasgen.stages import ccnf, generate, hl_evo, sg
from nasgen.stages.registry import run
from nasgen.store import ArtifactStore, upstream_of
from nasgen.train.config import DatasetConfig, SelectionConfig
from nasgen.zc.config import ZCConfig
from nasgen.zc.scorer import Scorer, derive_seed, seeded_network

pytestmark = pytest.mark.heavy  # a minute or more: started first (tests/conftest.py)

ZC = ZCConfig(batch_size=4, resolution=8, proxies=("naswot", "snip_ssnr", "tcet", "params", "flops"))
SEARCH = HLEvoConfig(iterations=12, population=4, zc=ZC)
SG = SGConfig(layers=1, hidden=32, heads=2, bins=4, epochs=40, patience=40, batch_size=8, dropout=0.0)
GEN = GenerateConfig(n=12, top_k=3, zc=ZC)


@pytest.fixture(scope="module")
def trained_sg(tiny_models):
    """Two HL-Evo levels sized from alpha_0 (whose cells depend on the tiny models' float arithmetic) and the SG."""
    st, _, cref = tiny_models
    sampler = ccnf.load_sampler(st, cref)
    k0 = initial_cluster(sampler.clusters.weights, SEARCH)
    alpha0 = initial_candidate(SEARCH, k0, sampler.cell_source(), np.random.default_rng(SEARCH.seed)).macro
    p0 = macro_cost(alpha0).params
    levels = [run("hl_evo", st, ccnf_ref=cref, cfg=SEARCH, level=ConstraintConfig(max_params=p))
              for p in (2 * p0, max(4 * p0, 10**6))]  # fmt: skip
    return st, levels, run("sg", st, hl_evo_refs=levels, cfg=SG)


def top_budget(st, levels) -> int:
    """The params budget of the larger level: what the SG has learnt to fill."""
    return st.manifest(hl_evo.STAGE, levels[-1].key)["config"]["level"]["max_params"]


def test_sg_artifact_trains_on_every_level_and_is_cached(trained_sg):
    st, levels, ref = trained_sg
    m = st.read_json(ref, "metrics.json")
    rows = sum(len(hl_evo.load_history(st, r)) for r in levels)
    assert m["rows"] == rows and m["epochs"] == 40 and m["sample_validity"] == 1.0
    assert {"weights.safetensors", "model.json", "history.parquet", "metrics.json"} <= set(
        st.manifest(sg.STAGE, ref.key)["files"])  # fmt: skip
    model, tok = sg.load(ref.uri)
    assert tok.fields == SG.condition_fields and model.config.vocab_size == tok.vocab_size
    assert run("sg", st, hl_evo_refs=list(reversed(levels)), cfg=SG) == ref  # the level order does not matter


def test_sg_refuses_histories_without_a_condition_field(trained_sg):
    st, levels, _ = trained_sg
    with pytest.raises(ConfigError, match="condition fields \\['zen'\\] are not columns"):
        run("sg", st, hl_evo_refs=levels, cfg=SG.model_copy(update={"condition_fields": ("params", "zen")}))
    with pytest.raises(ConfigError, match="at least one hl_evo artifact"):
        run("sg", st, hl_evo_refs=[], cfg=SG)


def test_generate_exports_the_top_k_that_fit_the_budget(trained_sg):
    st, levels, ref = trained_sg
    cap = top_budget(st, levels)
    req = GenerateRequest(max_params=cap, seed=1)
    gref = run("generate", st, sg_ref=ref, request=req, cfg=GEN)
    table = st.read_parquet(gref, generate.CANDIDATES).to_pylist()
    summary = st.read_json(gref, "summary.json")
    assert len(table) == 12 and summary["counts"]["generated"] == 12
    assert summary["counts"]["valid_sequences"] == 12  # the grammar: every sequence parses
    chosen = [r for r in table if r["rank"] is not None]
    assert 1 <= len(chosen) <= 3 and [c["rank"] for c in summary["chosen"]] == list(range(1, len(chosen) + 1))
    fit = [r for r in table if r["satisfies"]]
    assert all(r["params"] <= cap for r in fit) and all(not r["satisfies"] for r in table if r["params"] > cap)
    best = max(r["fitness"] for r in fit)
    assert summary["chosen"][0]["fitness"] == best and GEN.objective == "meco_opt"  # the default objective
    first = next(r for r in table if r["rank"] == 1)
    assert first["meco_opt"] == best  # fitness is the objective's value
    top = summary["chosen"][0]
    net = generate.load_chosen(gref.uri, 1)
    macro = MacroArch.from_json(st.read_bytes(gref, "rank1.json").decode())
    assert macro.arch_id == top["arch_id"] and macro_cost(macro).params == top["params"]
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    scored = seeded_network(macro, derive_seed(ZC.seed, macro.arch_id))  # what the scorer measured
    assert all(torch.equal(v, scored.state_dict()[k]) for k, v in net.state_dict().items())
    again = Scorer(req.scorer_config(GEN.zc)).score_macro(macro, name=macro.arch_id)
    assert all(np.isclose(again[p], first[p], rtol=1e-5) for p in ("tcet", "meco_opt"))
    assert st.read_bytes(gref, "rank1.png")[:4] == b"\x89PNG"
    assert run("generate", st, sg_ref=ref, request=req, cfg=GEN) == gref  # cached
    with pytest.raises(ConfigError, match="holds ranks 1.."):
        generate.load_chosen(gref.uri, 9)


@pytest.fixture(scope="module")
def latency_ref(trained_sg):
    """This machine's latency model for 3x32x32 inputs on a coarse grid (what generate checks latency with)."""
    st = trained_sg[0]
    fast = TimingConfig(repeats=3, warmup=1)
    grid = LatencyTableConfig(channels=(8, 32, 128), timing=fast)
    table = run("latency_table", st, cfg=grid, input_shape=(3, 32, 32), classes=10)
    return run("latency_model", st, table_ref=table,
               cfg=LatencyModelConfig(networks=6, max_layers=4, max_channels=64, timing=fast))  # fmt: skip


def test_a_latency_budget_keeps_networks_predicted_under_it_and_measures_the_chosen(trained_sg, latency_ref):
    st, levels, ref = trained_sg
    cap = top_budget(st, levels)
    free = run("generate", st, sg_ref=ref, request=GenerateRequest(max_params=cap, seed=1), cfg=GEN,
               latency_ref=latency_ref)  # fmt: skip
    rows = [r for r in st.read_parquet(free, generate.CANDIDATES).to_pylist() if r["satisfies"]]
    predicted = sorted(r["latency_ms"] for r in rows)
    assert all(p > 0 for p in predicted) and len(predicted) >= 2
    budget = predicted[len(predicted) // 2]  # half of the free networks are predicted over it
    req = GenerateRequest(max_params=cap, max_latency_ms=budget, seed=1)
    gref = run("generate", st, sg_ref=ref, request=req, cfg=GEN, latency_ref=latency_ref)
    table = st.read_parquet(gref, generate.CANDIDATES).to_pylist()
    fit = [r for r in table if r["satisfies"]]
    assert fit and all(r["latency_ms"] <= budget and r["params"] <= cap for r in fit)
    over = [r for r in table if r["latency_ms"] is not None and r["latency_ms"] > budget]
    assert all(not r["satisfies"] for r in over)
    summary = st.read_json(gref, "summary.json")
    assert all(c["measured_latency_ms"] > 0 and c["latency_ms"] <= budget for c in summary["chosen"])
    assert summary["counts"]["chosen_within_latency_measured"] == sum(
        c["measured_latency_ms"] <= budget for c in summary["chosen"])  # fmt: skip
    assert summary["request"]["max_latency_ms"] == budget
    assert run("generate", st, sg_ref=ref, request=req, cfg=GEN, latency_ref=latency_ref) == gref  # cached


def test_impossible_or_unsupported_latency_budgets_are_refused_by_name(trained_sg, latency_ref):
    st, _, ref = trained_sg
    with pytest.raises(NoFeasibleNetworkError, match="impossible latency budget: 1e-06 ms on cpu"):
        run("generate", st, sg_ref=ref, request=GenerateRequest(max_latency_ms=1e-6), cfg=GEN,
            latency_ref=latency_ref)  # fmt: skip
    with pytest.raises(NasgenError, match="needs the latency model of cpu"):
        run("generate", st, sg_ref=ref, request=GenerateRequest(max_latency_ms=5.0), cfg=GEN)
    with pytest.raises(ConfigError, match="is for input \\(3, 32, 32\\) and 10 classes"):
        run("generate", st, sg_ref=ref, request=GenerateRequest(max_latency_ms=5.0, input_shape=(3, 16, 16)), cfg=GEN,
            latency_ref=latency_ref)  # fmt: skip
    with pytest.raises(ValueError, match="unknown latency device 'tpu'"):
        GenerateRequest(max_latency_ms=5.0, latency_device="tpu")
    with pytest.raises(ValueError, match="greater than 0"):
        GenerateRequest(max_latency_ms=0)
    assert "max_latency_ms" not in generate._payload(GenerateRequest(max_params=10**6), GEN)["request"]  # keys kept


def test_the_condition_is_the_papers_y_unless_aim_high_names_a_field(trained_sg):
    st, levels, ref = trained_sg
    _, tok = sg.load_model(st, ref)
    req = GenerateRequest(max_params=top_budget(st, levels))
    assert candidates.sg_condition(req, tok, GEN) == {"params": GEN.budget_fraction * req.max_params}
    high = candidates.sg_condition(req, tok, GEN.model_copy(update={"aim_high": "tcet"}))
    assert high["tcet"] == tok.bin_range("tcet", tok.bins("tcet") - 1)[0]  # the history's top T-CET bin
    history = [t for r in levels for t in hl_evo.load_history(st, r).column("tcet").to_pylist() if t is not None]
    assert max(history) >= high["tcet"] > min(history)  # the top bin holds the history's best networks only


def test_generate_narrows_networks_over_a_budget_the_sg_never_saw(trained_sg):
    """A budget an eighth of the SG's smallest history level: the paper's generate drops what the SG proposes
    over it; the default narrows each such network (same cells, depth, strides) and warns, naming a pretrain."""
    st, levels, ref = trained_sg
    low = st.manifest(hl_evo.STAGE, levels[0].key)["config"]["level"]["max_params"] // 8
    req = GenerateRequest(max_params=low, seed=2)
    gref = run("generate", st, sg_ref=ref, request=req, cfg=GEN)
    narrow = st.read_parquet(gref, generate.CANDIDATES).to_pylist()
    summary = st.read_json(gref, "summary.json")
    # the SG's proposals for this request, materialised as generate does before its budget check
    (model, tok), sampler = sg.load_model(st, ref), ccnf.load_sampler(st, upstream_of(ref, "ccnf"))
    seqs = sample_sequences(model, tok, candidates.sg_condition(req, tok, GEN), 12, GEN.decoding, GEN.temperature,
                            req.seed).sequences  # fmt: skip
    proposed = [q.materialise(cells) for q, cells in zip(seqs, candidates.draw_cells(seqs, sampler, req.seed))]
    assert len(narrow) == len(proposed) == 12
    within = [satisfies(macro_cost(m), req.constraint) for m in proposed]
    widths = []
    for a, b, ok in zip(narrow, proposed, within):
        if ok:  # within the budget as proposed: the same network either way
            assert a["width"] == 1.0 and a["arch_id"] == b.arch_id
        elif a["satisfies"]:
            assert a["width"] < 1.0 and a["params"] <= low
            assert MacroArch.from_json(a["macro"]) == scaled(b, a["width"])
            widths.append(a["width"])
    assert widths and summary["counts"]["narrowed"] == len(widths)
    assert sum(r["satisfies"] for r in narrow) >= 0.95 * summary["counts"]["valid_sequences"]
    assert sum(within) + len(widths) == sum(r["satisfies"] for r in narrow)
    if not any(within):  # the paper's generate keeps none of them
        with pytest.raises(NoFeasibleNetworkError, match="does not cover"):
            candidates.run(req, model, tok, sampler, GEN.model_copy(update={"over_budget": "drop"}))
    [warning] = summary["warnings"]
    assert f"does not cover params<={low}" in warning
    assert f"nasgen pretrain --set 'hl_evo.levels=[{{max_params: {low}}}]'" in warning


def test_generate_error_paths_leave_nothing_behind(trained_sg, tmp_path):
    st, _, ref = trained_sg
    before = len(st.list(generate.STAGE))
    with pytest.raises(ValueError, match="impossible budget: params <= 100"):
        GenerateRequest(max_params=100)
    with pytest.raises(NoFeasibleNetworkError, match="none of the 12 generated networks meets params<=2000"):
        run("generate", st, sg_ref=ref, request=GenerateRequest(max_params=2000), cfg=GEN)  # not even narrowed
    with pytest.raises(ConfigError, match="unknown condition field 'accuracy'"):
        run("generate", st, sg_ref=ref, request=GenerateRequest(max_params=10**6, zc={"accuracy": 0.9}), cfg=GEN)
    assert len(st.list(generate.STAGE)) == before
    with pytest.raises(ValueError, match="give a budget"):
        GenerateRequest()
    with pytest.raises(ValueError, match="input_shape must be"):
        GenerateRequest(max_params=10**6, input_shape=(3, 32, 16))
    st.fs.pipe_file(st.file_path(sg.STAGE, ref.key, "weights.safetensors"), b"not weights")  # last use of the fixture
    with pytest.raises(CorruptArtifactError, match="checksum does not match"):
        run("generate", st, sg_ref=ref, request=GenerateRequest(max_params=900_000), cfg=GEN)
    assert len(st.list(generate.STAGE)) == before


@pytest.mark.usefixtures("prefect_server")
def test_pretrain_then_generate_at_the_tiny_profile(tmp_path, monkeypatch, capsys):
    from flows.evaluate import select_and_train
    from flows.generate import generate as generate_flow
    from flows.pretrain import pretrain
    from tests.conftest import run_cli

    store = str(tmp_path / "store")
    tiny = RunOptions(profile="tiny", store=store)
    with pytest.raises(ArtifactMissingError, match="run `nasgen pretrain --profile tiny`"):
        generate_flow(request=GenerateRequest(max_params=10**6), run=tiny)
    refs = pretrain(run=tiny)
    assert set(refs) == {"cells", "zc", "clusters", "gvae", "ccnf", "hl_evo", "sg"}
    ref = generate_flow(request=GenerateRequest(max_params=10**6, n=6, top_k=2), run=tiny)
    summary = ArtifactStore(store).read_json(ref, "summary.json")
    assert summary["counts"]["valid_sequences"] == 6 and len(summary["chosen"]) >= 1
    code, out, _ = run_cli(monkeypatch, capsys, "generate", "--profile", "tiny", "--store", store,
                           "--max-params", "1000000", "--n", "6", "--top-k", "2")  # fmt: skip
    assert code == 0 and ref.key in out.replace("\n", "")  # the same request: the cached artifact
    small = GenerateRequest(max_params=10**6, n=6, top_k=2, input_shape=(3, 16, 16), classes=4)
    small_uri = generate_flow(request=small, run=tiny).uri
    code, _, err = run_cli(
        monkeypatch, capsys, "select-and-train", small_uri, "--dataset", "synthetic", "--strategy", "best"
    )
    assert code == 2 and "invalid selection parameters" in err
    code, out, err = run_cli(monkeypatch, capsys, "select-and-train", small_uri, "--dataset", "synthetic", "--strategy",
                             "reduced", "--top-n", "2", "--epochs", "4", "--profile", "tiny")  # fmt: skip
    assert code == 0 and "selected by reduced" in out, err
    st = ArtifactStore(store)
    trained = [st.read_json(st.ref("trained", a["key"]), "metrics.json") for a in st.list("trained")]
    assert [m["epochs"] for m in trained].count(4) == 1
    short = [m for m in trained if m["epochs"] == 1]
    assert 1 <= len(short) <= 2 and all(m["val_top1"] is not None for m in short)  # reduced runs on validation
    final = select_and_train(generate_uri=small_uri, dataset=DatasetConfig(name="synthetic"), epochs=4,
                             selection=SelectionConfig(strategy="reduced", top_n=2))  # fmt: skip
    assert st.read_json(final, "metrics.json")["epochs"] == 4 and len(st.list("trained")) == len(trained)  # cached
    for args, message in (
        (["--max-params", "50"], "impossible budget"),
        (["--max-params", "1000000", "--zc", "naswot"], "--zc expects NAME=NUMBER"),
        (["--max-params", "1000000", "--input", "3,32"], "input_shape"),
        ([], "give a budget"),
        (["--max-latency-ms", "1e-6"], "impossible latency budget: 1e-06 ms on cpu"),  # in the flow's task
        (["--max-latency-ms", "1", "--latency-device", "tpu"], "unknown latency device 'tpu'"),
    ):
        code, _, err = run_cli(monkeypatch, capsys, "generate", "--profile", "tiny", "--store", store, *args)
        assert code == 2 and message in err and "Traceback" not in err, err


def test_histories_record_predicted_latency_and_the_sg_conditions_on_it(tiny_models):
    from nasgen.stages import latency

    st, _, cref = tiny_models
    fast = TimingConfig(repeats=3, warmup=1)
    shape, classes = SEARCH.zc.input_shape, SEARCH.zc.classes
    table = run("latency_table", st, cfg=LatencyTableConfig(channels=(8, 32, 128), timing=fast), input_shape=shape,
                classes=classes)  # fmt: skip
    lat = run("latency_model", st, table_ref=table,
              cfg=LatencyModelConfig(networks=6, max_layers=4, max_channels=64, timing=fast))  # fmt: skip
    cfg, level = SEARCH.model_copy(update={"latency_device": "cpu"}), ConstraintConfig(max_params=10**7)
    with pytest.raises(ConfigError, match="needs a latency_model artifact"):
        run("hl_evo", st, ccnf_ref=cref, cfg=cfg, level=level)
    with pytest.raises(ConfigError, match="reads no latency_model artifact"):
        run("hl_evo", st, ccnf_ref=cref, cfg=SEARCH, level=level, latency_ref=lat)
    with pytest.raises(ValueError, match="unknown latency device 'gpu'"):
        HLEvoConfig.model_validate({**SEARCH.model_dump(), "latency_device": "gpu"})
    ref = run("hl_evo", st, ccnf_ref=cref, cfg=cfg, level=level, latency_ref=lat)
    history = hl_evo.load_history(st, ref).to_pylist()
    predictor = latency.load_predictor(lat)
    assert all(r["latency_ms"] == pytest.approx(predictor.predict(MacroArch.from_json(r["macro"]))) for r in history)
    budget = float(np.quantile([r["latency_ms"] for r in history], 0.75))  # alpha_0 (the first row) under it
    budget = max(budget, history[0]["latency_ms"])
    bounded = run("hl_evo", st, ccnf_ref=cref, cfg=cfg, level=ConstraintConfig(max_params=10**7, max_latency_ms=budget),
                  latency_ref=lat)  # fmt: skip
    rows = hl_evo.load_history(st, bounded).to_pylist()
    assert rows and all(r["latency_ms"] <= budget for r in rows) and hl_evo.stats(bounded)["constraint"].endswith(
        f"latency<={budget}ms")  # fmt: skip
    with pytest.raises(ConfigError, match="needs a latency model"):
        run("hl_evo", st, ccnf_ref=cref, cfg=SEARCH, level=ConstraintConfig(max_latency_ms=budget))
    sg_cfg = SG.model_copy(update={"condition_fields": ("params", "latency_ms", "tcet")})
    sg_ref = run("sg", st, hl_evo_refs=[ref], cfg=sg_cfg)
    budget = float(np.median([r["latency_ms"] for r in history]))
    req = GenerateRequest(max_latency_ms=budget, input_shape=shape, classes=classes, seed=2)
    gref = run("generate", st, sg_ref=sg_ref, request=req, cfg=GEN.model_copy(update={"zc": SEARCH.zc}),
               latency_ref=lat)  # fmt: skip
    summary = st.read_json(gref, "summary.json")
    assert summary["condition"]["latency_ms"] == pytest.approx(GEN.budget_fraction * budget)
    assert all(c["latency_ms"] <= budget for c in summary["chosen"])
