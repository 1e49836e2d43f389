"""Benchmarks: each module has run(...) -> dict and prints JSON when executed."""
