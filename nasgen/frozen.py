"""The base of every config: frozen (hashable into store keys) and strict (an unknown field is an error)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
