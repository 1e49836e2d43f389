"""What every flow takes besides its own inputs: the profile (a name, or a Profile the CLI already resolved),
overrides of its fields, the store and the device. One parameter object, so a flow's signature lists only what
is its own, the Prefect UI shows these four once as a form, and they are settled in one place."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nasgen.config import Profile, resolve_profile
from nasgen.device import DEVICE_HELP, resolve_device


class RunOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str | Profile = Field("demo", description="A profile name (tiny | smoke | demo | paper) or a Profile.")
    overrides: dict[str, Any] = Field(default_factory=dict, description='Dotted fields, e.g. {"gvae.epochs": 50}.')
    store: str | None = Field(None, description="Store URI (default: the inputs' store, $NASGEN_STORE, ./artifacts).")
    device: str = Field("cpu", description=DEVICE_HELP)

    def settle(self) -> tuple[Profile, str]:
        """(the resolved profile, the resolved device): what a flow computes with."""
        return self.resolved_profile(), resolve_device(self.device)

    def resolved_profile(self) -> Profile:
        """The profile alone, for a flow that only dispatches (its children resolve the device where they run)."""
        return resolve_profile(self.profile, overrides=self.overrides)

    def child(self, prof: Profile, store: str | None = None, device: str | None = None) -> RunOptions:
        """The options a sub-flow gets: the profile already resolved, this store and device unless given."""
        return RunOptions(profile=prof, store=store or self.store, device=device or self.device)
