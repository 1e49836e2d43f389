"""Library-side pipeline stages, orchestrator-free: each module's ``key`` (the content key of its artifact) and
``compute`` (inputs -> one committed artifact), its typed readers, and ``registry`` (one entry per stage,
``run``: the stored artifact or a fresh one) and ``pipeline`` (the pretrain DAG, declared once).
"""
