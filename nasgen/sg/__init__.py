"""Sequence generator (paper Section 4.3): tokenizer, GPT-Neo model, grammar-constrained sampling, training."""
