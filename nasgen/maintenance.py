"""Store maintenance: ``verify`` (every committed artifact's files present with their recorded sizes and
hashes) and ``gc`` (remove what no manifest names: attempts of writers that died or lost a race, manifests
being committed, leases a dead writer left, leftovers of directories that never got a manifest, and nothing else)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from nasgen.errors import CorruptArtifactError, StoreError
from nasgen.lease import LEASE
from nasgen.store import _SAFE_PART, ATTEMPT, MANIFEST, TEMPORARY, ArtifactStore

GC_GRACE_S = 3600.0  # an orphan younger than this may belong to a writer still at work


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _dirs(store: ArtifactStore, path: str) -> list[str]:
    return sorted(p for p in store.fs.ls(path, detail=False) if store.fs.isdir(p) and _SAFE_PART.match(_name(p)))


def key_dirs(store: ArtifactStore) -> Iterator[tuple[str, str]]:
    """(stage, key) of every directory under the store's stages, committed or not."""
    if not store.fs.exists(store.base):
        return
    for stage_dir in _dirs(store, store.base):
        for key_dir in _dirs(store, stage_dir):
            yield _name(stage_dir), _name(key_dir)


def verify(store: ArtifactStore, only: Iterable[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Every manifest parses and every file it lists is present with its size and sha256 (of the ``only``
    (stage, key) pairs when given, else of the whole store)."""
    out: dict[str, Any] = {"artifacts": 0, "files": 0, "bytes": 0, "problems": []}
    for stage, key in key_dirs(store) if only is None else only:
        if not store.exists(stage, key):
            if only is not None:
                out["problems"].append(f"{store.uri(stage, key)}: not committed")
            continue
        out["artifacts"] += 1
        try:
            m = store.manifest(stage, key)
        except CorruptArtifactError as e:
            out["problems"].append(str(e))
            continue
        for name, entry in m.get("files", {}).items():
            path = store.file_path(stage, key, name, m)
            if not store.fs.exists(path):
                out["problems"].append(f"{store.uri(stage, key)}: {name} is missing")
                continue
            data = store.fs.cat_file(path)
            out["files"], out["bytes"] = out["files"] + 1, out["bytes"] + len(data)
            if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
                out["problems"].append(f"{store.uri(stage, key)}: {name} does not match its manifest "
                                       f"({len(data)} bytes, {entry['bytes']} recorded)")  # fmt: skip
    return out


def _modified(info: dict[str, Any]) -> float | None:
    """Seconds since the epoch an entry was last written (local ``mtime``, S3 ``LastModified``; None for an S3
    prefix, which has no time of its own)."""
    value = info.get("mtime", info.get("LastModified", info.get("created")))
    if isinstance(value, datetime):
        return value.timestamp()
    return None if value is None else float(value)


def _newest(store: ArtifactStore, path: str) -> float:
    """When anything under ``path`` (a file or an attempt's directory) was last written (0 when nothing says)."""
    times = [t for t in map(_modified, _entries(store, path).values()) if t is not None]
    return max(times, default=0.0)


def _entries(store: ArtifactStore, path: str) -> dict[str, dict[str, Any]]:
    """``path`` itself and, for a directory, everything under it (an attempt killed right after creating its
    directory is an empty one: its own time is its age)."""
    own = {path: store.fs.info(path)}
    return {**own, **store.fs.find(path, detail=True)} if store.fs.isdir(path) else own


def _size(store: ArtifactStore, path: str) -> int:
    found = _entries(store, path)
    return sum(int(i.get("size") or 0) for i in found.values() if i.get("type") != "directory")


def orphans(store: ArtifactStore, stage: str, key: str) -> list[str]:
    """The paths under one key's directory that no manifest names."""
    key_dir = store.path(stage, key)
    manifest = store.manifest(stage, key) if store.exists(stage, key) else None
    keep = {MANIFEST}
    if manifest is not None:
        keep |= {ATTEMPT + manifest["attempt"]} if manifest.get("attempt") else set(manifest.get("files", {}))
    out = []
    for p in store.fs.ls(key_dir, detail=False):
        name = _name(p)
        if name in keep:
            continue
        if manifest is None or name.startswith(ATTEMPT) or TEMPORARY in name or name == LEASE:
            out.append(p)
    return out


def gc(store: ArtifactStore, older_than_s: float = GC_GRACE_S, dry_run: bool = False) -> dict[str, Any]:
    """Remove the orphans last written more than ``older_than_s`` ago (and key directories left empty)."""
    if older_than_s < 0:
        raise StoreError(f"gc's age threshold must be >= 0 seconds, got {older_than_s}")
    now, removed, young, freed = time.time(), [], 0, 0
    for stage, key in list(key_dirs(store)):
        try:
            found = orphans(store, stage, key)
        except CorruptArtifactError:
            continue  # a manifest that does not parse: nothing here is provably orphaned (verify reports it)
        for p in found:
            if now - _newest(store, p) < older_than_s:
                young += 1
                continue
            freed += _size(store, p)
            removed.append(p)
            if not dry_run:
                store.fs.rm(p, recursive=True)
        key_dir = store.path(stage, key)
        if not dry_run and store.fs.isdir(key_dir) and not store.fs.ls(key_dir, detail=False):
            store.fs.rmdir(key_dir)
    return {"removed": removed, "bytes": freed, "kept_young": young, "dry_run": dry_run}
