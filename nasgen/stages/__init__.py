"""Library-side pipeline stages: pure functions (store, config, upstream refs) -> Ref, orchestrator-free.

Each stage exposes its content key so an orchestrator can decide "already done" before running it.
"""
