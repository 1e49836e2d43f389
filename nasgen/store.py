"""Artifact store on fsspec: content keys, atomic commits, manifests written last, checksummed reads.

Layout: ``<root>/<stage>/<key>/`` holds ``_manifest.json`` and one directory per write attempt,
``.attempt-<id>/``, holding that attempt's data files. An attempt writes its files, then commits by creating the
manifest *only if none exists* (a hard link on a local disk, S3's ``If-None-Match: *``): of two writers of one
key exactly one commits, the other drops its attempt and reads the winner's, and no manifest ever names files
another writer touches. A directory without a manifest does not exist (DESIGN section 6); an attempt no manifest
names is an orphan (a writer died or lost), which ``gc`` removes. Artifacts written before attempts existed keep
their files beside the manifest (a manifest without ``attempt``). Root: argument, else ``$NASGEN_STORE``, else
``./artifacts``; any fsspec URI works (``s3://bucket/prefix`` through s3fs, endpoint from
``$NASGEN_S3_ENDPOINT_URL`` or ``$AWS_ENDPOINT_URL``). Nothing is ever unpickled from the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

import nasgen
from nasgen.errors import ArtifactMissingError, CorruptArtifactError, StoreError, UnsafeKeyError

DEFAULT_ROOT = "./artifacts"
MANIFEST = "_manifest.json"
ATTEMPT = ".attempt-"  # prefix of a write attempt's directory
TEMPORARY = ".tmp-"  # in the name of a manifest being committed
KEY_LENGTH = 24
_SAFE_PART = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")
log = logging.getLogger(__name__)


class Ref(BaseModel):
    """What tasks pass around: where an artifact lives, never its data."""

    model_config = ConfigDict(frozen=True)

    stage: str
    key: str
    uri: str
    rows: int | None = None


def _config_payload(config: Any) -> Any:
    return config.model_dump(mode="json") if isinstance(config, BaseModel) else config


def content_key(stage: str, config: Any, upstream: Sequence[Ref | str] = ()) -> str:
    """sha256 of (stage, config, upstream keys, nasgen version): same inputs, same key, skip the work."""
    payload = {
        "stage": stage,
        "config": _config_payload(config),
        "upstream": sorted(u.key if isinstance(u, Ref) else str(u) for u in upstream),
        "version": nasgen.__version__,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:KEY_LENGTH]


def check_part(part: str) -> str:
    """Refuse anything that could leave the store root: traversal, absolute paths, separators, odd characters."""
    if not isinstance(part, str) or not _SAFE_PART.match(part) or part in (".", "..") or ".." in part:
        raise UnsafeKeyError(f"unsafe store path component {part!r}: use letters, digits, '.', '_' and '-'")
    return part


def _storage_options(root: str) -> dict[str, Any]:
    if root.startswith(("s3://", "s3a://")):
        endpoint = os.environ.get("NASGEN_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        opts: dict[str, Any] = {"use_listings_cache": False, "skip_instance_cache": True}
        if endpoint:
            opts["client_kwargs"] = {"endpoint_url": endpoint}
        return opts
    return {}


@contextlib.contextmanager
def _guard(what: str) -> Iterator[None]:
    """Turn filesystem/network failures into store errors that name the location."""
    try:
        yield
    except (StoreError, UnsafeKeyError):
        raise
    except FileNotFoundError as e:
        raise ArtifactMissingError(f"not found in store: {what}") from e
    except Exception as e:  # botocore, aiohttp, OSError: all mean the store did not do it
        raise StoreError(f"store operation failed on {what}: {type(e).__name__}: {e}") from e


class ArtifactStore:
    def __init__(self, root: str | None = None):
        self.root = (root or os.environ.get("NASGEN_STORE") or DEFAULT_ROOT).rstrip("/")
        with _guard(self.root):
            self.fs, path = fsspec.core.url_to_fs(self.root, **_storage_options(self.root))
        self.base = path.rstrip("/") or "/"
        self.protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.local = self.protocol in ("file", "local")  # a POSIX disk: links and renames are atomic

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root!r})"

    # --- paths ---------------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return "/".join([self.base, *(check_part(p) for p in parts)])

    def uri(self, *parts: str) -> str:
        p = self.path(*parts)
        return p if self.local else f"{self.protocol}://{p.lstrip('/')}"

    def ref(self, stage: str, key: str) -> Ref:
        m = self.manifest(stage, key)
        return Ref(stage=stage, key=key, uri=self.uri(stage, key), rows=m.get("rows"))

    # --- queries ---------------------------------------------------------------------------------------
    def exists(self, stage: str, key: str) -> bool:
        with _guard(self.uri(stage, key, MANIFEST)):
            return self.fs.exists(self.path(stage, key, MANIFEST))

    def manifest(self, stage: str, key: str) -> dict[str, Any]:
        where = self.uri(stage, key, MANIFEST)
        with _guard(where):
            raw = self.fs.cat_file(self.path(stage, key, MANIFEST))
        try:
            return json.loads(raw)
        except ValueError as e:
            raise CorruptArtifactError(f"manifest does not parse: {where}: {e}") from None

    def list(self, stage: str | None = None) -> list[dict[str, Any]]:
        """Committed artifacts (those with a manifest), newest last."""
        out = []
        with _guard(self.root):
            if not self.fs.exists(self.base):
                return []
            stages = (
                [stage]
                if stage
                else sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.base, detail=False))
            )
            for st in stages:
                if not self.fs.isdir(self.path(st)):
                    continue
                for kp in sorted(self.fs.ls(self.path(st), detail=False)):
                    key = kp.rstrip("/").rsplit("/", 1)[-1]
                    if _SAFE_PART.match(key) and self.fs.exists(self.path(st, key, MANIFEST)):
                        m = self.manifest(st, key)
                        out.append(
                            {
                                "stage": st,
                                "key": key,
                                "rows": m.get("rows"),
                                "created": m.get("created"),
                                "bytes": sum(f["bytes"] for f in m.get("files", {}).values()),
                            }
                        )
        return sorted(out, key=lambda r: r["created"] or "")

    def delete(self, stage: str, key: str) -> None:
        with _guard(self.uri(stage, key)):
            if self.fs.exists(self.path(stage, key)):
                self.fs.rm(self.path(stage, key), recursive=True)

    def file_path(self, stage: str, key: str, name: str, manifest: dict[str, Any] | None = None) -> str:
        """Where a committed artifact's file lives: in the attempt its manifest names (beside the manifest for
        artifacts written before attempts)."""
        m = self.manifest(stage, key) if manifest is None else manifest
        attempt = m.get("attempt")
        return self.path(stage, key, *((ATTEMPT + attempt,) if attempt else ()), check_part(name))

    # --- reading ---------------------------------------------------------------------------------------
    def read_bytes(self, ref: Ref, name: str, verify: bool = True) -> bytes:
        m = self.manifest(ref.stage, ref.key)
        entry = m.get("files", {}).get(check_part(name))
        where = self.uri(ref.stage, ref.key, name)
        if entry is None:
            raise ArtifactMissingError(f"{where} is not listed in its manifest")
        with _guard(where):
            data = self.fs.cat_file(self.file_path(ref.stage, ref.key, name, m))
        if verify and hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise CorruptArtifactError(f"{where}: checksum does not match the manifest (corrupt or overwritten)")
        return data

    def read_json(self, ref: Ref, name: str) -> Any:
        try:
            return json.loads(self.read_bytes(ref, name))
        except ValueError as e:
            raise CorruptArtifactError(f"{self.uri(ref.stage, ref.key, name)}: JSON does not parse: {e}") from None

    def read_parquet(self, ref: Ref, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        data = self.read_bytes(ref, name)
        try:
            return pq.read_table(io.BytesIO(data), columns=list(columns) if columns else None)
        except (pa.ArrowInvalid, OSError) as e:
            raise CorruptArtifactError(f"{self.uri(ref.stage, ref.key, name)}: not readable Parquet: {e}") from None

    def read_safetensors(self, ref: Ref, name: str) -> dict[str, Any]:
        from safetensors.torch import load

        try:
            return load(self.read_bytes(ref, name))
        except Exception as e:
            raise CorruptArtifactError(f"{self.uri(ref.stage, ref.key, name)}: not readable safetensors: {e}") from None

    # --- writing ---------------------------------------------------------------------------------------
    def replace(self, stage: str, key: str, name: str, data: bytes) -> None:
        """Write ``<stage>/<key>/<name>`` whole, replacing it atomically: a reader sees the old or the new bytes,
        never a part (a temporary and a rename on a local disk; a PUT is atomic on S3)."""
        final = self.path(stage, key, name)
        with _guard(self.uri(stage, key, name)):
            if not self.local:
                self.fs.pipe_file(final, data)
                return
            os.replace(self._temporary(stage, key, name, data), final)

    def _temporary(self, stage: str, key: str, name: str, data: bytes, tag: str | None = None) -> str:
        """``data`` in a local temporary beside ``name`` (what gc recognises as one), its path returned."""
        self.fs.makedirs(self.path(stage, key), exist_ok=True)
        tmp = self.path(stage, key, f".{name.lstrip('.')}{TEMPORARY}{tag or uuid.uuid4().hex}")
        self.fs.pipe_file(tmp, data)
        return tmp

    def remove_if_empty(self, stage: str, key: str) -> None:
        """Remove a key's directory that holds nothing (a local disk's leftover; S3 has no empty prefixes)."""
        with contextlib.suppress(Exception):
            key_dir = self.path(stage, key)
            if self.fs.isdir(key_dir) and not self.fs.ls(key_dir, detail=False):
                self.fs.rmdir(key_dir)

    def create(self, stage: str, key: str, name: str, data: bytes, tag: str | None = None) -> bool:
        """Write ``<stage>/<key>/<name>`` only if it does not exist, atomically; False when it did. A hard link on
        a local disk (POSIX's one atomic create-if-absent; ``tag`` names the temporary), ``If-None-Match: *`` on
        S3 (where a retried PUT whose first try landed also answers False: the caller checks whose it is)."""
        final = self.path(stage, key, name)
        with _guard(self.uri(stage, key, name)):
            if self.local:
                tmp = self._temporary(stage, key, name, data, tag)
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    return False
                finally:
                    os.unlink(tmp)
                return True
            try:
                self.fs.pipe_file(final, data, mode="create")
            except FileExistsError:
                return False
            return True

    def writer(self, stage: str, key: str, config: Any = None, upstream: Sequence[Ref] = ()) -> ArtifactWriter:
        return ArtifactWriter(self, check_part(stage), check_part(key), config, upstream)


def upstream_of(ref: Ref, stage: str) -> Ref:
    """The ``stage`` artifact that ``ref`` was computed from, as recorded in its manifest."""
    store = store_of(ref)
    for u in store.manifest(ref.stage, ref.key).get("upstream_refs", []):
        if u["stage"] == stage:
            return Ref(**u)
    raise ArtifactMissingError(f"{ref.uri} records no {stage!r} artifact upstream")


def store_of(ref: Ref) -> ArtifactStore:
    """The store an artifact lives in (a stage may read its upstream from another store than it writes to)."""
    return ArtifactStore(ref.uri.rstrip("/").rsplit("/", 2)[0])


def open_ref(uri: str, stage: str | None = None) -> tuple[ArtifactStore, Ref]:
    """The store and ref of a committed artifact given its URI (``<root>/<stage>/<key>``, as refs print it)."""
    root, _, rest = uri.rstrip("/").rpartition("/")
    store_root, _, found_stage = root.rpartition("/")
    if not store_root or not found_stage or not rest:
        raise ArtifactMissingError(f"not an artifact URI (expected <store>/<stage>/<key>): {uri!r}")
    if stage is not None and found_stage != stage:
        raise ArtifactMissingError(f"{uri} is a {found_stage!r} artifact, expected a {stage!r} artifact")
    store = ArtifactStore(store_root)
    if not store.exists(found_stage, rest):
        raise ArtifactMissingError(f"no committed artifact at {uri} (no manifest)")
    return store, store.ref(found_stage, rest)


class ArtifactWriter:
    """Context manager for one artifact: files into this writer's own attempt directory, then the manifest
    created only if no other writer committed first (``lost`` then: its attempt is dropped, the winner's artifact
    is what ``ref`` names); full clean-up of the attempt on failure."""

    def __init__(self, store: ArtifactStore, stage: str, key: str, config: Any, upstream: Sequence[Ref]):
        self.store, self.stage, self.key = store, stage, key
        self.config, self.upstream = _config_payload(config), list(upstream)
        self.files: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {}
        self.rows: int | None = None
        self.attempt = uuid.uuid4().hex
        self.lost = False  # another writer committed this key first
        self._t0 = 0.0

    def __enter__(self) -> ArtifactWriter:
        if self.store.exists(self.stage, self.key):
            raise StoreError(f"artifact {self.store.uri(self.stage, self.key)} already exists; refusing to overwrite")
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._drop()
            return
        try:
            self.lost = not self._commit(json.dumps(self._manifest(), indent=2, sort_keys=True).encode())
        except BaseException:
            self._drop()
            raise
        if self.lost:
            log.info("%s %s: another writer committed first; its artifact is the one", self.stage, self.key)
            self._drop()

    def _dir(self) -> str:
        return self.store.path(self.stage, self.key, ATTEMPT + self.attempt)

    def _drop(self) -> None:
        """Remove this attempt (and the key's directory when nothing else is in it)."""
        with contextlib.suppress(Exception):
            if self.store.fs.exists(self._dir()):
                self.store.fs.rm(self._dir(), recursive=True)
        self.store.remove_if_empty(self.stage, self.key)

    def _commit(self, manifest: bytes) -> bool:
        """Create the manifest unless one exists, atomically; False when another writer's came first."""
        if self.store.create(self.stage, self.key, MANIFEST, manifest, tag=self.attempt):
            return True
        # On S3 a retried PUT whose first try landed (its answer lost on the way) meets its own manifest.
        return self.store.manifest(self.stage, self.key).get("attempt") == self.attempt

    @property
    def ref(self) -> Ref:
        return Ref(stage=self.stage, key=self.key, uri=self.store.uri(self.stage, self.key), rows=self.rows)

    def _manifest(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "key": self.key,
            "config": self.config,
            "upstream": [u.key for u in self.upstream],
            "upstream_refs": [u.model_dump() for u in self.upstream],
            "code_version": nasgen.__version__,
            "attempt": self.attempt,
            "rows": self.rows,
            "files": self.files,
            "seconds": round(time.perf_counter() - self._t0, 6),
            "created": datetime.now(UTC).isoformat(),
            **self.meta,
        }

    def _put(self, name: str, data: bytes, rows: int | None = None) -> None:
        """One file into this attempt (seen by readers only once the manifest names the attempt)."""
        with _guard(self.store.uri(self.stage, self.key, name)):
            self.store.fs.makedirs(self._dir(), exist_ok=True)
            self.store.fs.pipe_file("/".join([self._dir(), check_part(name)]), data)
        entry = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        if rows is not None:
            entry["rows"] = rows
        self.files[name] = entry

    def write_bytes(self, name: str, data: bytes) -> None:
        self._put(name, data)

    def write_json(self, name: str, obj: Any) -> None:
        self._put(name, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

    def write_parquet(self, name: str, data: pa.Table | dict[str, Any], schema: pa.Schema) -> None:
        """Parquet with an explicit schema: columns are cast (and checked) against it."""
        table = data.cast(schema) if isinstance(data, pa.Table) else pa.Table.from_pydict(data, schema=schema)
        buf = io.BytesIO()
        pq.write_table(table, buf)
        self._put(name, buf.getvalue(), rows=table.num_rows)

    def write_safetensors(self, name: str, tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> None:
        from safetensors.torch import save

        self._put(name, save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata))
