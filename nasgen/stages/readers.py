"""Readers of the files several stages share by convention, so no caller spells a file name."""

from __future__ import annotations

from nasgen.store import Ref, store_of

METRICS = "metrics.json"


def metrics(ref: Ref) -> dict:
    """``metrics.json`` of a `gvae`, `ccnf`, `sg` or `trained` artifact."""
    return store_of(ref).read_json(ref, METRICS)
