"""Typed configs and the three profiles (smoke / demo / paper). Every tunable number lives here.

Configs are frozen pydantic models: validated on construction, hashable into store keys, loadable from
YAML (``load_config``) and rendered as forms in the Prefect UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nasgen.errors import ConfigError

ProfileName = Literal["smoke", "demo", "paper"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SamplerConfig(_Frozen):
    """How random cells are drawn. Defaults favour larger cells: small op counts have few distinct cells
    (k=1: 56) and would mostly produce duplicates."""

    op_count_weights: tuple[float, ...] = (0.02, 0.05, 0.10, 0.18, 0.25, 0.40)
    edge_prob: float = Field(0.35, gt=0.0, le=1.0)
    batch_size: int = Field(65536, ge=1)
    max_batches: int = Field(10_000, ge=1)

    @field_validator("op_count_weights")
    @classmethod
    def _six_weights(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != 6 or min(v) < 0 or sum(v) <= 0:
            raise ValueError("op_count_weights needs 6 non-negative weights (op counts 1..6) with a positive sum")
        return v


class SampleCellsConfig(_Frozen):
    """Stage `cells`: N unique canonical cells in Parquet shards."""

    n: int = Field(20_000, ge=1)
    seed: int = 0
    shard_size: int = Field(10_000, ge=1)
    sampler: SamplerConfig = SamplerConfig()


class OrchestrationConfig(_Frozen):
    """Retries and backoff of every stage task (tasks/stage.py)."""

    retries: int = Field(3, ge=0)
    retry_backoff_factor: float = Field(2.0, ge=0)
    retry_jitter_factor: float = Field(0.2, ge=0)


class Profile(_Frozen):
    name: ProfileName
    cells: SampleCellsConfig
    orchestration: OrchestrationConfig = OrchestrationConfig()
    describe_examples: int = Field(3, ge=0)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        cells=SampleCellsConfig(n=500, shard_size=200, sampler=SamplerConfig(batch_size=1024)),
        orchestration=OrchestrationConfig(retries=1, retry_backoff_factor=0.1),
    ),
    "demo": Profile(name="demo", cells=SampleCellsConfig(n=20_000, shard_size=5_000)),
    "paper": Profile(name="paper", cells=SampleCellsConfig(n=400_000, shard_size=10_000)),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None


def load_config(path: str | Path, model: type[BaseModel]) -> BaseModel:
    """Read a YAML file into a config model, with the error naming the file and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
        return model.model_validate(data)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (yaml.YAMLError, ValidationError) as e:
        raise ConfigError(f"invalid config {path}: {e}") from None
