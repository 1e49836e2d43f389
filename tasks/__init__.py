"""Thin Prefect task wrappers around nasgen stages: caching on store keys, retries, refs in and out."""
