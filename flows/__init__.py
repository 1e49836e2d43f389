"""Prefect flows: the pipeline entry points users trigger from the UI, deployments or Python.

Importing this package (the CLI does, before anything imports Prefect) gives Prefect the project's defaults,
each only where the user's environment sets nothing: no telemetry (its heartbeat on the ephemeral server's
SQLite database printed a 'database is locked' traceback before every result), a start-up timeout for the
ephemeral server that fits 2 cores, and a database timeout under which concurrent runs on one database wait
for each other instead of failing.
"""

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_API_DATABASE_TIMEOUT": "60",
}
for _name, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
