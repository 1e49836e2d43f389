"""Prefect's ephemeral backend, made safe for several runs at once on one machine.

Without ``PREFECT_API_URL`` every flow run starts a temporary server on the SQLite database under
``PREFECT_HOME``, and each server migrates that database on start. Two runs started together on a fresh home
migrate it at once and one of them fails (``No such index: 'ix_deployment__worker_pool_queue_id'``, a logged
traceback). Each server then registers Prefect's block types in it, and two at once collide
(``UNIQUE constraint failed: block_schema.checksum``, another logged traceback: Prefect's memo of that
registration is written only after it). ``prepare`` does both once, under a file lock, before the run, and
tells the run's server to do neither (re-registering an up-to-date database costs about 0.4 s).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "nasgen-migrate.lock"


def prepare() -> None:
    """With the ephemeral backend: the database migrated under an exclusive lock; a no-op against a server."""
    import asyncio

    from prefect.server.database import provide_database_interface
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    if PREFECT_API_URL.value():  # a server (from the environment or a Prefect profile) owns its database
        return

    home = Path(PREFECT_HOME.value()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        asyncio.run(_migrate_and_register(provide_database_interface()))
    os.environ["PREFECT_API_DATABASE_MIGRATE_ON_START"] = "false"
    os.environ["PREFECT_API_BLOCKS_REGISTER_ON_START"] = "false"


async def _migrate_and_register(db) -> None:
    """What the server runs on start: migrations, then the block types' registration."""
    from prefect.server.models.block_registration import run_block_auto_registration

    await db.create_db()
    async with await db.session() as session:
        await run_block_auto_registration(session=session)
