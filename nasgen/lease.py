"""A lease on a store key: the writer computing an artifact says so in the store, so that an identical request
arriving meanwhile (another flow run, another worker, another machine on the same bucket) waits for that commit
and reads it instead of computing the same thing again.

The lease only saves work; correctness stays with the manifest's create-if-absent (``ArtifactStore.create``). A
lease is ``<stage>/<key>/.lease.json``, created only if absent, renewed by its holder's thread every
``renew_s`` and removed when the holder is done; a lease not renewed for ``ttl_s`` belongs to a dead writer and
is taken over. Two writers can still both compute in rare cases (a holder paused for longer than ``ttl_s``, or
two waiters taking over one expired lease at once): both then write and exactly one commits, as without a lease.
Expiry compares the holder's clock with the waiter's: machines sharing a store must keep their clocks within a
small part of ``ttl_s`` (NTP does).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

from pydantic import Field

from nasgen.errors import StoreError
from nasgen.frozen import Frozen
from nasgen.store import ArtifactStore, Ref

LEASE = ".lease.json"
log = logging.getLogger(__name__)


class LeaseConfig(Frozen):
    """How long a silent lease stays valid, how often its holder renews it, how often a waiter looks again."""

    ttl_s: float = Field(60.0, gt=0)  # a worker that stops renewing for a minute is gone
    renew_s: float = Field(15.0, gt=0)  # four renewals per ttl: one lost PUT does not expire the lease
    poll_s: float = Field(1.0, gt=0)  # a waiter's look at the manifest and the lease


class _Held:
    """The lease this process holds: renewed by a daemon thread until released."""

    def __init__(self, store: ArtifactStore, stage: str, key: str, owner: str, cfg: LeaseConfig):
        self.store, self.stage, self.key, self.owner, self.cfg = store, stage, key, owner, cfg
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{stage}-{key}", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.cfg.renew_s):
            with contextlib.suppress(Exception):  # a failed renewal is retried at the next tick
                self.store.replace(self.stage, self.key, LEASE, _payload(self.owner, self.cfg))

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(Exception):  # a lease left behind expires; the commit is what readers look at
            if (_read(self.store, self.stage, self.key) or {}).get("owner") == self.owner:
                self.store.fs.rm_file(_path(self.store, self.stage, self.key))
        self.store.remove_if_empty(self.stage, self.key)  # a computation that failed leaves no directory


def _path(store: ArtifactStore, stage: str, key: str) -> str:
    return store.path(stage, key, LEASE)


def _payload(owner: str, cfg: LeaseConfig) -> bytes:
    info = {"owner": owner, "host": socket.gethostname(), "pid": os.getpid(), "expires": time.time() + cfg.ttl_s}
    return json.dumps(info).encode()


def _read(store: ArtifactStore, stage: str, key: str) -> dict | None:
    """The lease's record; None when there is none (or it vanished, or is being written: look again)."""
    try:
        return json.loads(store.fs.cat_file(_path(store, stage, key)))
    except FileNotFoundError:
        return None
    except ValueError:
        return {"expires": 0.0}  # unreadable (never written in part: created by a link, renewed by a rename)
    except Exception as e:
        raise StoreError(f"store operation failed on {store.uri(stage, key, LEASE)}: {type(e).__name__}: {e}") from e


@contextlib.contextmanager
def claim(store: ArtifactStore, stage: str, key: str, cfg: LeaseConfig = LeaseConfig()) -> Iterator[bool]:
    """Yields True when this process holds the lease and should compute the artifact; False when the artifact
    was committed (by another writer) while waiting, so the caller reads it instead. Waits as long as another
    live holder renews its lease."""
    owner = uuid.uuid4().hex
    waited = False
    while True:
        if store.exists(stage, key):
            if waited:
                log.info("%s %s: committed by another writer while waiting; served from the store", stage, key)
            yield False
            return
        if store.create(stage, key, LEASE, _payload(owner, cfg), tag=owner):
            break
        record = _read(store, stage, key)
        if (record or {}).get("owner") == owner:  # S3: a retried create whose first try landed
            break
        if record is not None and record.get("expires", 0.0) < time.time():
            log.warning("%s %s: lease of %s (pid %s) expired; taking over", stage, key, record.get("host"),
                        record.get("pid"))  # fmt: skip
            with contextlib.suppress(FileNotFoundError):
                store.fs.rm_file(_path(store, stage, key))
            continue
        if not waited:
            log.info("%s %s: being computed by %s (pid %s); waiting for its commit", stage, key,
                     (record or {}).get("host"), (record or {}).get("pid"))  # fmt: skip
        waited = True
        time.sleep(cfg.poll_s)
    held = _Held(store, stage, key, owner, cfg)
    try:
        if store.exists(stage, key):  # committed between our look and our lease: nothing to compute
            yield False
        else:
            yield True
    finally:
        held.release()


def once(store: ArtifactStore, stage: str, key: str, compute: Callable[[], Ref],
         cfg: LeaseConfig = LeaseConfig()) -> Ref:  # fmt: skip
    """The committed artifact ``<stage>/<key>``: found (claim's first look), else computed by ``compute()`` under
    the lease, else (an identical run committed it while this one waited) read."""
    with claim(store, stage, key, cfg) as mine:
        if not mine:
            return store.ref(stage, key)
        log.info("%s %s: computing", stage, key)
        return compute()
