"""HM-NAS (dissertation ch. 2): a weight-sharing supernet with multi-level architecture encoding, hierarchical
masking instead of DARTS's derivation heuristic, and fine-tuning of the masked network: the one-shot baseline."""
