"""The stage registry, the pretrain DAG declared once, profile resolution and the generic task factory."""

import inspect

import pytest

from nasgen.config import get_profile, parse_overrides, resolve_profile
from nasgen.errors import ArtifactMissingError, ConfigError
from nasgen.stages import registry
from nasgen.stages.pipeline import PRETRAIN, build, lookup, upstream_inputs, walk
from nasgen.store import ArtifactStore


def test_every_stage_derives_its_inputs_from_compute_and_its_key_from_a_subset():
    for s in registry.STAGES.values():
        params = inspect.signature(s.compute).parameters
        assert s.inputs == tuple(p for p in params if p not in ("store", "device", "progress"))
        assert set(inspect.signature(s.key_fn).parameters) <= set(s.inputs)
        assert s.section is None or hasattr(get_profile("demo"), s.section)
    assert registry.stage("hl-evo") is registry.STAGES["hl_evo"] and registry.STAGES["hl_evo"].command == "hl-evo"
    with pytest.raises(ConfigError, match="unknown stage 'nope'"):
        registry.stage("nope")


def test_each_stage_section_holds_the_config_its_compute_takes():
    """A stage's section names the Profile field passed as ``cfg``: its type must be what compute annotates."""
    import typing

    from nasgen.config import Profile

    sections = {s.name: s.section for s in registry.STAGES.values() if s.section is not None}
    assert {"cells", "zc", "clusters", "gvae", "ccnf", "hl_evo", "sg", "generate", "nb201_proxies"} <= set(sections)
    for name, section in sections.items():
        wanted = typing.get_type_hints(registry.stage(name).compute)["cfg"]
        assert Profile.model_fields[section].annotation is wanted, (name, section)


def test_a_key_that_reads_what_compute_does_not_take_is_refused():
    def compute(store, cfg):
        return None

    with pytest.raises(TypeError, match="key takes \\['level'\\]"):
        registry.Stage("bad", key_fn=lambda cfg, level: "k", compute=compute)


def test_run_returns_the_stored_artifact_and_refuses_unknown_inputs(tmp_path):
    st = ArtifactStore(str(tmp_path))
    cfg = get_profile("tiny").cells
    first = registry.run("cells_shard", st, cfg=cfg, index=0, previous=[])
    created = st.manifest(first.stage, first.key)["created"]
    assert registry.run("cells_shard", st, cfg=cfg, index=0, previous=[]) == first
    assert st.manifest(first.stage, first.key)["created"] == created  # not recomputed
    with pytest.raises(ConfigError, match="takes \\['cfg', 'index', 'previous'\\], not \\['shards'\\]"):
        registry.run("cells_shard", st, cfg=cfg, index=0, previous=[], shards=[])


def test_the_dag_is_walked_in_order_with_each_steps_config_and_upstream_refs():
    seen = []

    def execute(step, cfg, inputs):
        seen.append((step.name, type(cfg).__name__, sorted(inputs)))
        return [step.name] if step.per_level else step.name

    refs = walk(get_profile("demo"), execute)
    optional = ("graphpnas", "latency_table", "latency_model")  # steps only some profiles take
    assert [s.name for s in PRETRAIN if s.name not in optional] == list(refs) == [n for n, _, _ in seen]
    assert dict((n, i) for n, _, i in seen)["gvae"] == ["cells_ref", "clusters_ref", "zc_ref"]
    assert refs["hl_evo"] == ["hl_evo"] and dict((n, c) for n, c, _ in seen)["hl_evo"] == "HLEvoConfig"
    assert dict((n, i) for n, _, i in seen)["hl_evo"] == ["ccnf_ref"]  # GenCell from the CCNF: no graphpnas
    assert list(walk(get_profile("demo"), execute, upto="clusters")) == ["cells", "zc", "clusters"]
    seen.clear()  # HL-Evo's GenCell from GraphPNAS: the graphpnas step runs and feeds it
    refs = walk(resolve_profile("demo", overrides={"hl_evo.cell_source": "graphpnas"}), execute)
    assert [s.name for s in PRETRAIN if s.name not in optional[1:]] == list(refs)
    assert dict((n, (c, i)) for n, c, i in seen)["graphpnas"] == ("GraphPNASCellsConfig", [])
    assert dict((n, i) for n, _, i in seen)["hl_evo"] == ["ccnf_ref", "graphpnas_ref"]
    seen.clear()  # a latency device: the latency steps run with their non-artifact inputs and feed HL-Evo
    refs = walk(resolve_profile("demo", overrides={"hl_evo.latency_device": "cpu"}), execute)
    assert [s.name for s in PRETRAIN if s.name != "graphpnas"] == list(refs)
    inputs = dict((n, i) for n, _, i in seen)
    assert inputs["latency_table"] == ["classes", "input_shape", "latency_device"]
    assert inputs["latency_model"] == ["latency_device", "table_ref"]
    assert inputs["hl_evo"] == ["ccnf_ref", "latency_ref"]


def test_build_then_lookup_find_the_same_artifacts_and_a_missing_one_is_named(tiny_pipeline):
    st = tiny_pipeline[0]
    built = build(st, get_profile("tiny"), upto="clusters")
    assert lookup(st, get_profile("tiny"), upto="clusters") == built
    assert built["clusters"] == tiny_pipeline[3]
    with pytest.raises(ArtifactMissingError, match="no pretrained 'cells' artifact of profile 'smoke'.*nasgen cells"):
        lookup(st, get_profile("smoke"))


def test_upstream_inputs_are_found_in_the_manifests_of_what_is_given(tiny_pipeline):
    _, cref, zref, clref = tiny_pipeline
    assert upstream_inputs("gvae", [clref]) == {"cells_ref": cref, "zc_ref": zref, "clusters_ref": clref}
    with pytest.raises(ArtifactMissingError, match="needs a 'clusters' artifact"):
        upstream_inputs("gvae", [zref])
    with pytest.raises(ArtifactMissingError, match="does not read"):
        upstream_inputs("clusters", [zref, clref])
    with pytest.raises(ArtifactMissingError, match="give at least one"):
        upstream_inputs("sg", [])


def test_profiles_resolve_once_from_yaml_and_dotted_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("gvae:\n  epochs: 7\nzc:\n  zc:\n    tcet: tcet_syn_none\n")
    prof = resolve_profile("demo", path, parse_overrides(["gvae.hidden=96", "hl_evo.levels=[{max_params: 500000}]"]))
    assert (prof.gvae.epochs, prof.gvae.hidden, prof.zc.zc.tcet) == (7, 96, "tcet_syn_none")
    assert [lv.max_params for lv in prof.hl_evo.levels] == [500_000]
    assert prof.cells == get_profile("demo").cells  # untouched sections stay the profile's
    assert resolve_profile(prof) is prof and resolve_profile("demo") is get_profile("demo")
    for bad, message in (
        ({"gvae.epochs": 0}, "invalid overrides.*gvae.epochs"),
        ({"gvae.nope": 1}, "unknown config field 'gvae.nope'"),
        ({"nope.x": 1}, "unknown config section 'nope'"),
    ):
        with pytest.raises(ConfigError, match=message):
            resolve_profile("demo", overrides=bad)
    with pytest.raises(ConfigError, match="expects SECTION.FIELD=VALUE"):
        parse_overrides(["gvae.epochs"])
    path.write_text("gvae: {epochs: -1}\n")
    with pytest.raises(ConfigError, match="invalid config .*run.yaml: gvae.epochs"):
        resolve_profile("demo", path)
    with pytest.raises(ConfigError, match="config file not found"):
        resolve_profile("demo", tmp_path / "absent.yaml")


def test_naming_an_objective_scores_it():
    prof = resolve_profile("demo", overrides={"hl_evo.objective": "zen"})
    assert prof.hl_evo.objective == "zen" and "zen" in prof.hl_evo.zc.proxies


def test_the_generic_task_has_the_stages_signature_and_run_name():
    pytest.importorskip("prefect")
    from tasks.stage import stage_task

    t = stage_task("zc_shard")
    assert list(inspect.signature(t.fn).parameters) == ["store", "cells_ref", "cfg", "index", "device"]
    assert t.name == "zc-shard" and t.task_run_name == "zc-shard-{index}" and stage_task("zc_shard") is t
    assert list(inspect.signature(stage_task("clusters").fn).parameters) == ["store", "zc_ref", "cfg"]
    hl = inspect.signature(stage_task("hl_evo").fn).parameters  # an optional input stays optional for Prefect
    assert list(hl) == ["store", "ccnf_ref", "cfg", "level", "graphpnas_ref", "latency_ref", "device"]
    assert hl["graphpnas_ref"].default is None and hl["ccnf_ref"].default is inspect.Parameter.empty


def test_artifact_keys_are_what_prefect_accepts():
    from flows.reporting import artifact_key

    assert artifact_key("hl_evo", "demo", "params<=500000") == "hl-evo-demo-params-500000"
    assert artifact_key("Generate", "AB_12") == "generate-ab-12"


def test_a_stage_added_through_the_registry_runs_from_library_flow_and_cli(tmp_path):
    """nb201_proxies: its module's key/compute, one registry entry, a profile section; nothing else by hand."""
    from nasgen.stages import nb201_proxies

    st = ArtifactStore(str(tmp_path))
    cfg = get_profile("tiny").nb201_proxies
    ref = registry.run("nb201_proxies", st, cfg=cfg)
    scores, corr = nb201_proxies.scores(ref), nb201_proxies.correlations(ref)
    assert len(scores) == corr["scored"] <= cfg.n == corr["archs"] and scores["arch"].str.startswith("|").all()
    assert set(corr["test"]) == {p for p in cfg.zc.proxies if p not in ("snip_ssnr", "tcet")}
    assert registry.run("nb201_proxies", st, cfg=cfg) == ref


@pytest.mark.usefixtures("prefect_server")
def test_the_new_stage_has_its_command(tmp_path, monkeypatch, capsys):
    from tests.conftest import run_cli

    code, out, err = run_cli(monkeypatch, capsys, "nb201-proxies", "--profile", "tiny", "--store", str(tmp_path))
    assert code == 0 and "nb201_proxies" in out, err
    code, _, err = run_cli(monkeypatch, capsys, "nb201-proxies", "--set", "nb201_proxies.network=vit")
    assert code == 2 and "invalid overrides" in err
