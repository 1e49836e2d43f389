"""G-VAE quality in the arch2vec / D-VAE protocol, plus what the ZC regularisation is for.

- reconstruction: share of held-out cells decoded (from their latent mean) to exactly the same canonical cell;
- validity: share of prior samples z = m + s * eps (m, s: mean and std of the training latents) that decode to a
  valid cell; uniqueness: distinct cells among the valid ones; novelty: valid cells not in the training set;
- ZC preservation: Spearman correlation between latent L1 distance and ZC L1 distance (transformed vectors)
  over all pairs of held-out labelled cells;
- predictor R2 of q on held-out labelled cells (over all four components jointly).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import spearmanr

from nasgen.gvae.model import GVAE
from nasgen.gvae.training import decode, encode
from nasgen.space.cell import Cell


def reconstruction_accuracy(model: GVAE, cells: Sequence[Cell]) -> float:
    if not cells:
        return float("nan")
    decoded = decode(model, encode(model, cells))
    return float(np.mean([d.ok and d.cell.code == c.code for d, c in zip(decoded, cells)]))


def prior_samples(model: GVAE, train_cells: Sequence[Cell], n: int, seed: int = 0) -> dict[str, float]:
    mu = encode(model, train_cells)
    m, s = mu.mean(0), mu.std(0)
    z = m + s * torch.randn((n, mu.shape[1]), generator=torch.Generator().manual_seed(seed)).to(mu.device)
    decoded = decode(model, z)
    valid = [d.cell.code for d in decoded if d.ok]
    train_codes = {c.code for c in train_cells}
    return {
        "validity": len(valid) / n,
        "uniqueness": len(set(valid)) / len(valid) if valid else 0.0,
        "novelty": float(np.mean([v not in train_codes for v in valid])) if valid else 0.0,
    }


def zc_preservation(model: GVAE, cells: Sequence[Cell], t_zc: np.ndarray) -> float:
    if len(cells) < 3:
        return float("nan")
    mu = encode(model, cells).double().cpu()
    lat = torch.cdist(mu, mu, p=1).numpy()
    zc = torch.cdist(torch.as_tensor(t_zc), torch.as_tensor(t_zc), p=1).numpy()
    iu = np.triu_indices(len(cells), 1)
    return float(spearmanr(lat[iu], zc[iu]).statistic)


@torch.no_grad()
def predictor_r2(model: GVAE, cells: Sequence[Cell], t_zc: np.ndarray) -> float:
    if len(cells) < 2:
        return float("nan")
    pred = model.predictor(encode(model, cells)).cpu().numpy()
    ss_res = ((pred - t_zc) ** 2).sum()
    ss_tot = ((t_zc - t_zc.mean(0)) ** 2).sum()
    return float(1.0 - ss_res / ss_tot)


def evaluate(
    model: GVAE,
    train_cells: Sequence[Cell],
    held_out: Sequence[Cell],
    held_out_labelled: Sequence[Cell],
    held_out_t_zc: np.ndarray,
    prior_n: int = 10_000,
    seed: int = 0,
) -> dict[str, float]:
    return {
        "reconstruction": reconstruction_accuracy(model, held_out),
        "train_reconstruction": reconstruction_accuracy(model, list(train_cells)[:2000]),
        **prior_samples(model, train_cells, prior_n, seed),
        "zc_preservation": zc_preservation(model, held_out_labelled, held_out_t_zc),
        "predictor_r2": predictor_r2(model, held_out_labelled, held_out_t_zc),
        "held_out": len(held_out),
        "held_out_labelled": len(held_out_labelled),
    }


def tsne_png(latents: np.ndarray, clusters: np.ndarray, title: str, seed: int = 0) -> bytes:
    """2-D t-SNE of latent means coloured by GMM cluster (paper Fig. 2 b/c)."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(latents) - 1) / 3)))
    xy = TSNE(2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(latents)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=clusters, cmap="tab10", s=10)
    ax.legend(*sc.legend_elements(), title="cluster", fontsize=7, loc="best")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
