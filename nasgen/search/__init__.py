"""Search: one interface (``strategy``: space, objective, strategy) and every strategy as one module, listed in
``strategies.STRATEGIES``; GraphNet's space and objective (``graphnet``), HL-Evo (paper Algorithm 1) and its
baselines, the latent-space searches of arch2vec and CATE, GraphPNAS, the hierarchical method on a cell space."""
