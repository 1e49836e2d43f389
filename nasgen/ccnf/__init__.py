"""Conditional continuous normalizing flow over G-VAE latents (paper Section 4.2): samples synonym cells."""

from nasgen.ccnf.cnf import CCNF, CNFBlock
from nasgen.ccnf.sampling import CellSampler, GenerationError
from nasgen.ccnf.training import History, train

__all__ = ["CCNF", "CNFBlock", "CellSampler", "GenerationError", "History", "train"]
