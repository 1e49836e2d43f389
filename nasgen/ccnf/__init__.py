"""Conditional continuous normalizing flow over G-VAE latents (paper Section 4.2): samples synonym cells."""

from nasgen.ccnf.cnf import CCNF, CNFBlock
from nasgen.ccnf.sampling import CellSampler, GenerationError
from nasgen.ccnf.training import History, train

__all__ = ["CCNF", "CNFBlock", "CellSampler", "GenerationError", "History", "load", "train"]


def load(uri: str, device: str = "cpu"):
    """The CellSampler (synonyms, gen_cell) of a committed `ccnf` artifact, with its G-VAE and GMM."""
    from nasgen.stages.ccnf import load as load_artifact

    return load_artifact(uri, device)
