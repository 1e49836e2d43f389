"""arch2vec (Yan et al. 2020; dissertation ch. 3): an unsupervised variational graph-isomorphism autoencoder."""
