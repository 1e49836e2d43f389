"""arch2vec's autoencoder and the searches over frozen embedding tables."""

from __future__ import annotations

from pydantic import Field

from nasgen.frozen import Frozen
from nasgen.search.config import DNGOConfig


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


class LatentSearchConfig(Frozen):
    """Searches over a frozen embedding table (nasgen.arch2vec.search), dissertation ch. 3 on NB-201 CIFAR-10.

    RL: an LSTM controller (``controller_hidden``) gives the mean of a Gaussian with covariance
    ``policy_std``² I; the nearest unvisited embedding (L2) is the next architecture; REINFORCE with Adam
    ``rl_lr`` after every ``episode`` architectures, returns discounted by ``discount`` within the episode, minus
    the constant ``baseline`` (rewards are accuracy / 100). BO: ``bo_init`` random architectures, then per round
    DNGO refit on every observation and the ``bo_top`` unvisited architectures of highest expected improvement
    over ``ei_best``. CATE-DNGO-LS: the same with ``ls_epochs`` per refit plus the nearest unvisited neighbours
    of the pool's other top architectures.
    """

    episode: int = Field(16, ge=1)
    discount: float = Field(0.4, ge=0, le=1)
    baseline: float = 0.4
    rl_lr: float = Field(1e-2, gt=0)
    controller_hidden: int = Field(128, ge=1)
    policy_std: float = Field(1.0, gt=0)
    bo_init: int = Field(16, ge=1)
    bo_top: int = Field(5, ge=1)
    ei_best: float = 0.95
    dngo: DNGOConfig = DNGOConfig()
    ls_epochs: int = Field(30, ge=1)  # CATE-DNGO-LS refits DNGO for 30 epochs per round (dissertation ch. 4)
    # GraphNet: the searches choose among alpha_x of the first ``pool`` cells of the `cells` artifact, the same
    # cells for every frozen encoder (arch2vec's table rows, CATE's encodings of them)
    pool: int = Field(20_000, ge=1)
