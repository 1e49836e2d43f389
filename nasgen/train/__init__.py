"""Training and evaluating generated networks (issue 8): datasets, recipe loop, checkpoints."""
