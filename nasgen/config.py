"""Profiles and the one place a run's configuration is settled.

Each config section is a frozen pydantic model beside the code it configures (``nasgen/<package>/config.py``).
A profile is a YAML file of sections (``nasgen/profiles/<name>.yaml``) over those models' defaults, in the
same format a user's ``--config FILE.yaml`` takes over a profile; ``--set section.field=value`` comes last.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model

from nasgen.arch2vec.config import Arch2VecConfig
from nasgen.cate.config import CATEConfig
from nasgen.ccnf.config import CCNFConfig
from nasgen.clusters.config import ClusterConfig
from nasgen.errors import ConfigError
from nasgen.frozen import Frozen
from nasgen.generate.config import GenerateConfig
from nasgen.graphpnas.config import GraphPNASCellsConfig
from nasgen.gvae.config import GVAEConfig
from nasgen.search.config import HLEvoConfig, LatentSearchConfig
from nasgen.sg.config import SGConfig
from nasgen.space.config import SampleCellsConfig
from nasgen.zc.config import ScoreCellsConfig

PROFILE_DIR = Path(__file__).parent / "profiles"
PROFILE_NAMES: tuple[str, ...] = ("tiny", "smoke", "demo", "paper")
ProfileName = Literal[PROFILE_NAMES]  # type: ignore[valid-type]


class OrchestrationConfig(Frozen):
    """Retries and backoff of every stage task (tasks/stage.py)."""

    retries: int = Field(3, ge=0)
    retry_backoff_factor: float = Field(2.0, ge=0)
    retry_jitter_factor: float = Field(0.2, ge=0)
    # The zc fan-out's task runner when none is asked for. "auto": spawned processes of one torch thread each
    # on CPU (a 2-thread OpenMP team slowed 2.64x next to a 1-thread job, 2 processes 1.27x: docs, scale),
    # threads on a GPU (one CUDA context; a second thread overlaps Python with kernels).
    zc_runner: Literal["auto", "threads", "processes"] = "auto"


class ProfileFields(Frozen):
    """Every number of a run: one section per stage, named after it (``Profile`` adds the declared sections)."""

    name: ProfileName
    cells: SampleCellsConfig = SampleCellsConfig()
    zc: ScoreCellsConfig = ScoreCellsConfig()
    clusters: ClusterConfig = ClusterConfig()
    gvae: GVAEConfig = GVAEConfig()
    ccnf: CCNFConfig = CCNFConfig()
    hl_evo: HLEvoConfig = HLEvoConfig()
    sg: SGConfig = SGConfig()
    generate: GenerateConfig = GenerateConfig()
    arch2vec: Arch2VecConfig = Arch2VecConfig()
    latent_search: LatentSearchConfig = LatentSearchConfig()  # arch2vec-RL and -BO (NB-201 and GraphNet)
    cate: CATEConfig = CATEConfig()
    graphpnas: GraphPNASCellsConfig = GraphPNASCellsConfig()  # GraphPNAS on GraphNet cells (stage graphpnas)
    orchestration: OrchestrationConfig = OrchestrationConfig()
    describe_examples: int = Field(3, ge=0)
    demo_budget: int = Field(1_000_000, ge=1)  # params budget `make demo` generates for


def declared_sections(modules: Iterable[str]) -> dict[str, type[Frozen]]:
    """The config classes of ``modules`` that declare a profile section (``SECTION: ClassVar[str]``): a
    config-only stage's config, written beside its code, becomes a Profile section without a field here."""
    out: dict[str, type[Frozen]] = {}
    for name in modules:
        for obj in vars(importlib.import_module(name)).values():
            section = getattr(obj, "SECTION", None)
            if isinstance(obj, type) and issubclass(obj, Frozen) and obj.__module__ == name and section:
                if section in out or section in ProfileFields.model_fields:
                    raise TypeError(f"profile section {section!r} declared twice ({name}.{obj.__name__})")
                out[section] = obj
    return out


def library_config_modules() -> list[str]:
    """``nasgen.<package>.config`` of every library package (not ``stages``: it sits above the profile)."""
    return [f"nasgen.{m.name}.config" for m in pkgutil.iter_modules([str(Path(__file__).parent)])
            if m.ispkg and m.name != "stages" and (Path(__file__).parent / m.name / "config.py").exists()]  # fmt: skip


def profile_model(sections: dict[str, type[Frozen]]) -> type[ProfileFields]:
    """``ProfileFields`` plus one defaulted field per declared section."""
    fields: dict[str, Any] = {name: (cls, cls()) for name, cls in sections.items()}
    return create_model("Profile", __base__=ProfileFields, __module__=__name__, **fields)


Profile = profile_model(declared_sections(library_config_modules()))


@cache
def get_profile(name: str) -> Profile:
    """Profile ``name``: its YAML file over the configs' defaults."""
    return load_profile(name, Profile, PROFILE_DIR)


def load_profile(name: str, model: type[BaseModel], directory: Path) -> BaseModel:
    """``directory/<name>.yaml`` read over ``model(name=name)``'s defaults (also the benchmarks' profiles)."""
    if name not in PROFILE_NAMES:
        raise ConfigError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILE_NAMES)}")
    return load_config(directory / f"{name}.yaml", model, base=model(name=name))


def profile_yaml(prof: BaseModel) -> str:
    """The YAML file of ``prof``: only what differs from its model's defaults (``load_profile`` reads it back)."""
    base = type(prof)(name=prof.name).model_dump(mode="json")
    diff = _difference(prof.model_dump(mode="json"), base)
    diff.pop("name", None)
    return yaml.safe_dump(diff, sort_keys=False, default_flow_style=None, width=110)


def _difference(data: dict, base: dict) -> dict:
    out = {}
    for k, v in data.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            sub = _difference(v, base[k])
            if sub:
                out[k] = sub
        elif v != base.get(k):
            out[k] = v
    return out


def resolve_profile(profile: str | Profile, config_file: str | Path | None = None,
                    overrides: Mapping[str, Any] | None = None) -> Profile:  # fmt: skip
    """The one place a run's configuration is settled: a profile (by name or as given), then the sections of a
    YAML file (``load_config``), then dotted overrides ``{"gvae.epochs": 50, "zc.zc.tcet": "tcet_syn_none"}``;
    validated once, with the error naming the file or the field."""
    return settle(profile if isinstance(profile, Profile) else get_profile(profile), config_file, overrides)


def settle(cfg: BaseModel, config_file: str | Path | None = None,
           overrides: Mapping[str, Any] | None = None) -> BaseModel:  # fmt: skip
    """``cfg`` with a YAML file's sections, then dotted overrides, applied and validated (any profile model)."""
    if config_file is not None:
        cfg = load_config(config_file, type(cfg), base=cfg)
    if overrides:
        data = cfg.model_dump(mode="json")
        for path, value in overrides.items():
            _set_dotted(data, path, value)
        try:
            cfg = type(cfg).model_validate(data)
        except ValidationError as e:
            raise ConfigError(f"invalid overrides {dict(overrides)}: {_first_error(e)}") from None
    return cfg


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["gvae.epochs=50", "hl_evo.levels=[{max_params: 500000}]"]`` -> dotted paths and YAML-parsed values."""
    out: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ConfigError(f"--set expects SECTION.FIELD=VALUE, got {item!r}")
        try:
            out[path.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {item!r}: the value does not parse: {e}") from None
    return out


def _set_dotted(data: dict, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = data
    for i, name in enumerate(parents):
        if not isinstance(node.get(name), dict):
            raise ConfigError(f"unknown config section {'.'.join(parents[: i + 1])!r} in override {path!r}; "
                              f"sections: {', '.join(k for k, v in data.items() if isinstance(v, dict))}")  # fmt: skip
        node = node[name]
    if leaf not in node:
        raise ConfigError(f"unknown config field {path!r}; {'.'.join(parents) or 'the profile'} has "
                          f"{', '.join(node)}")  # fmt: skip
    node[leaf] = value


def _merge(base: dict, update: Mapping[str, Any]) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"


def with_overrides(cfg: Frozen, what: str, **overrides) -> Frozen:
    """``cfg`` with the non-None ``overrides`` applied and validated (flow and CLI parameters)."""
    data = cfg.model_dump()
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return type(cfg)(**data)
    except ValidationError as e:
        raise ConfigError(f"invalid {what} parameters: {_first_error(e)}") from None
    except ValueError as e:
        raise ConfigError(f"invalid {what} parameters: {e}") from None


def load_config(path: str | Path, model: type[BaseModel], base: BaseModel | None = None) -> BaseModel:
    """Read a YAML file into a config model (over ``base``'s values when given), the error naming the file
    and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"invalid config {path}: expected a mapping of fields, got {type(data).__name__}")
        if base is not None:
            data = _merge(base.model_dump(mode="json"), data)
        return model.model_validate(data)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid config {path}: {e}") from None
    except ValidationError as e:
        raise ConfigError(f"invalid config {path}: {_first_error(e)}") from None
