"""arch2vec's autoencoder and the searches over frozen embedding tables."""

from __future__ import annotations

from pydantic import Field

from nasgen.frozen import Frozen


class Arch2VecConfig(Frozen):
    """arch2vec's variational graph-isomorphism autoencoder (dissertation ch. 3, Eqs. 3.1-3.5; nasgen.arch2vec)."""

    hidden: tuple[int, ...] = (128, 128, 128, 128, 16)  # the 5 GIN layers; the last one is the latent width
    latent: int = Field(16, ge=1)
    kl: bool = True  # False: the "w/o KL" row of Table 3.1 (no KL term, z = mu)
    # dropout on z before decoding, in training: the authors' code uses 0.3; here it cut held-out reconstruction
    # to 83% (43% w/o KL) after 10 epochs (README, arch2vec), so it is off
    decoder_dropout: float = Field(0.0, ge=0, lt=1)
    grad_clip: float = Field(5.0, gt=0)  # gradient-norm clip (the authors' code)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(32, ge=2)
    epochs: int = Field(10, ge=1)
    val_fraction: float = Field(0.1, gt=0, lt=1)  # held out for reconstruction accuracy
    prior_samples: int = Field(10_000, ge=1)  # rescaled prior draws for validity and uniqueness
    max_cells: int = Field(20_000, ge=2)  # GraphNet cells (stage `arch2vec_graphnet`): the first of the artifact
    seed: int = 0
