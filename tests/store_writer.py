"""A separate process that writes artifacts, for the store's race and kill tests (not a test module).

``race ROOT N T0 DT TAG``: for i < N, at time T0 + i * DT, commit key ``race-i`` (three files naming TAG) and
print one JSON line: the key, whether this writer committed, lost the race or found it committed, and what it
then reads. ``loop ROOT TAG``: commit keys ``loop-TAG-0``, ``-1``, ... with files of a few hundred kB each until
killed (the kill test).
"""

from __future__ import annotations

import json
import os
import sys
import time

from nasgen.errors import StoreError
from nasgen.store import ArtifactStore


def write(store: ArtifactStore, key: str, tag: str, size: int = 1_000) -> str:
    with store.writer("demo", key, config={"tag": tag}) as w:
        for part in range(3):
            w.write_bytes(f"part-{part}.bin", (f"{tag}:{part}:".encode() * size)[: size * 8])
        w.write_json("who.json", {"tag": tag, "pid": os.getpid()})
    return "lost" if w.lost else "committed"


def race(root: str, n: int, t0: float, dt: float, tag: str) -> None:
    store = ArtifactStore(root)
    for i in range(n):
        time.sleep(max(0.0, t0 + i * dt - time.time()))
        key = f"race-{i}"
        try:
            outcome = write(store, key, tag)
        except StoreError as e:
            if "already exists" not in str(e):
                raise
            outcome = "found"
        ref = store.ref("demo", key)
        print(
            json.dumps({"key": key, "outcome": outcome, "reads": store.read_json(ref, "who.json")["tag"]}), flush=True
        )


def loop(root: str, tag: str) -> None:
    store = ArtifactStore(root)
    i = 0
    while True:
        write(store, f"loop-{tag}-{i}", tag, size=40_000)
        print(i, flush=True)
        i += 1


if __name__ == "__main__":
    if sys.argv[1] == "race":
        race(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    else:
        loop(sys.argv[2], sys.argv[3])
