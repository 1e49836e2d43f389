"""Graph VAE of cells with ZC-similarity regularisation (paper Section 4.1): data, model, training, decoding."""

from nasgen.gvae.data import Decoded, encode_cells, to_cell
from nasgen.gvae.model import GVAE
from nasgen.gvae.training import decode, encode, reconstruct, train

__all__ = ["GVAE", "Decoded", "decode", "encode", "encode_cells", "reconstruct", "to_cell", "train"]
