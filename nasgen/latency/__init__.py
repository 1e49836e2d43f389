"""Latency on a named device: a timing harness, an operation-level lookup table and a whole-network predictor."""
