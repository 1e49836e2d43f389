"""GraphPNAS's autoregressive graph generator (Section 3.1.1, Eqs. 1-10).

Generation step t adds node t to the graph of nodes 0..t-1. A GNN runs S message-passing steps on that graph
with node t linked to every earlier node: messages m_ij = f([h_i - h_j, 1_ij]) (1_ij one-hot of: edge into i,
edge out of i, self, i is the new node, j is the new node), gates a_ij = σ(g(h̃_i - h̃_j)) with h̃ = [h, u]
(u = one-hot incoming neighbours and one-hot position), h_i ← GRU(h_i, Σ_{j ∈ N(i) ∪ {i}} a_ij m_ij);
h^0 = one-hot node label (the new node its own label), zero-padded to the hidden size. Then the type of node t
is Categorical(softmax(MLP_β(h_t))) over the op types and the output token, and its incoming edges a mixture
of K Bernoulli products: α = softmax(Σ_{j<t} MLP_α(h_t - h_j)), θ_kj = σ(MLP_θ(h_t - h_j)_k). MLPs are two
layers with ReLU. The validity rules of ``nasgen.graphpnas.graphs`` (non-empty inputs, forced output edges)
are exact conditionals of this distribution, so ``log_likelihood`` is the exact log-probability of the
generation path of a graph; the sampler computes the same probability separately (float64), which a test
compares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasgen.graphpnas.config import GraphPNASConfig
from nasgen.graphpnas.graphs import Graph, GraphSpace

PAIR_TYPES = 5  # into i, out of i, self, i new, j new


def _mlp(a: int, hidden: int, b: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(a, hidden), nn.ReLU(), nn.Linear(hidden, b))


class Generator(nn.Module):
    def __init__(self, space: GraphSpace, cfg: GraphPNASConfig = GraphPNASConfig()) -> None:
        super().__init__()
        if cfg.hidden < space.vocab:
            raise ValueError(f"hidden {cfg.hidden} is smaller than the {space.vocab} node labels of h^0")
        self.space, self.cfg = space, cfg
        h, n = cfg.hidden, space.max_nodes
        self.f = _mlp(h + PAIR_TYPES, h, h)
        self.g = _mlp(h + 2 * n, h, 1)
        self.gru = nn.GRUCell(h, h)
        self.mlp_beta = _mlp(h, h, space.n_types + 1)
        self.mlp_alpha = _mlp(h, h, cfg.mixtures)
        self.mlp_theta = _mlp(h, h, cfg.mixtures)

    # --- one generation step, batched over (graph, t) instances ----------------------------------------
    def _instances(self, prefixes: Sequence[tuple[Graph, int]]):
        """Tensors of the graphs of nodes 0..t-1 of each (graph, t) plus the new node t."""
        n, h = self.space.max_nodes, self.cfg.hidden
        m = len(prefixes)
        labels = np.zeros((m, n), dtype=np.int64)
        exists = np.zeros((m, n), dtype=bool)
        ptype = np.full((m, n, n), 2, dtype=np.int64)
        pmask = np.zeros((m, n, n), dtype=bool)
        u = np.zeros((m, n, 2 * n), dtype=np.float32)
        for r, (g, t) in enumerate(prefixes):
            for v in range(t):
                labels[r, v] = self.space.label(g, v)
            labels[r, t] = self.space.new_label
            exists[r, : t + 1] = True
            idx = np.arange(t + 1)
            pmask[r, idx, idx] = True
            for i, j in g.edges:
                if j < t:
                    ptype[r, j, i], ptype[r, i, j] = 0, 1  # at j the edge comes in, at i it goes out
                    pmask[r, j, i] = pmask[r, i, j] = True
                    u[r, j, i] = 1.0
            ptype[r, t, :t], ptype[r, :t, t] = 3, 4
            pmask[r, t, :t] = pmask[r, :t, t] = True
            u[r, idx, n + idx] = 1.0
        h0 = F.one_hot(torch.from_numpy(labels), h).float() * torch.from_numpy(exists)[..., None]
        return h0, torch.from_numpy(ptype), torch.from_numpy(pmask), torch.from_numpy(u)

    def _propagate(self, h, ptype, pmask, u):
        """S rounds over the masked pairs only. The first layers of f and g are linear, so their pair inputs
        h_i - h_j (and h~_i - h~_j) are applied per node and differenced: W(h_i - h_j) = Wh_i - Wh_j, the same
        function at a fraction of the cost (the fit runs it thousands of times)."""
        m, n, d = h.shape
        r, i, j = pmask.nonzero(as_tuple=True)
        row, col = r * n + i, r * n + j
        f0, f2, g0, g2 = self.f[0], self.f[2], self.g[0], self.g[2]
        w_h, w_pair = f0.weight[:, :d], f0.weight[:, d:]
        pair_term = w_pair.t()[ptype[r, i, j]] + f0.bias  # the one-hot half of f's first layer
        gu = F.linear(u.reshape(m * n, -1), g0.weight[:, d:])  # u's half of g's first layer, fixed over steps
        for _ in range(self.cfg.steps):
            flat = h.reshape(m * n, d)
            wh = F.linear(flat, w_h)
            msg = f2(F.relu(wh[row] - wh[col] + pair_term))
            gh = F.linear(flat, g0.weight[:, :d]) + gu
            gate = torch.sigmoid(g2(F.relu(gh[row] - gh[col] + g0.bias)))
            agg = torch.zeros(m * n, d, dtype=h.dtype).index_add(0, row, gate * msg)
            h = self.gru(agg, flat).reshape(m, n, d)
        return h

    def step_outputs(self, prefixes: Sequence[tuple[Graph, int]]):
        """(type logits (M, D+1), log α (M, K), θ (M, N, K)) of each (graph, t); θ rows j >= t unused."""
        h0, ptype, pmask, u = self._instances(prefixes)
        h = self._propagate(h0, ptype, pmask, u)
        t = torch.tensor([tt for _, tt in prefixes])
        rows = torch.arange(len(prefixes))
        ht = h[rows, t]
        diff = ht[:, None] - h
        earlier = (torch.arange(h.shape[1])[None] < t[:, None]).float()
        log_alpha = torch.log_softmax((self.mlp_alpha(diff) * earlier[..., None]).sum(1), -1)
        theta = torch.sigmoid(self.mlp_theta(diff))
        return self.mlp_beta(ht), log_alpha, theta

    def type_mask(self, t: int) -> torch.Tensor:
        """Allowed tokens at step t: no output at t = 1 (a cell has an op), only the output past max_ops."""
        d = self.space.n_types
        mask = torch.ones(d + 1, dtype=torch.bool)
        if self.space.fixed or t == 1:
            mask[d] = False
        if not self.space.fixed and t == self.space.max_ops + 1:
            mask[:d] = False
        return mask

    # --- the likelihood ----------------------------------------------------------------------------------
    def log_likelihood(self, graphs: Sequence[Graph]) -> torch.Tensor:
        """log P(graph) of each graph's generation path, (B,), differentiable."""
        for g in graphs:
            self.space.check(g)
        prefixes = [(g, t) for g in graphs for t in self._steps(g)]
        owner = torch.tensor([b for b, g in enumerate(graphs) for _ in self._steps(g)])
        logits, log_alpha, theta = self.step_outputs(prefixes)
        masks = torch.stack([self.type_mask(t) for _, t in prefixes])
        logp_type = torch.log_softmax(logits.masked_fill(~masks, -math.inf), -1)
        target = torch.tensor([self._token(g, t) for g, t in prefixes])
        lp = logp_type[torch.arange(len(prefixes)), target]
        if not self.space.fixed:
            lp = lp + self._edge_log_prob(prefixes, log_alpha, theta)
        return torch.zeros(len(graphs)).index_add(0, owner, lp)

    def _steps(self, g: Graph) -> range:
        return range(1, g.n_nodes - 1) if self.space.fixed else range(1, g.n_nodes)

    def _token(self, g: Graph, t: int) -> int:
        return self.space.n_types if t == g.n_nodes - 1 else g.ops[t - 1]

    def _edge_log_prob(self, prefixes, log_alpha, theta) -> torch.Tensor:
        n = self.space.max_nodes
        a = torch.zeros(len(prefixes), n)
        free = torch.zeros(len(prefixes), n)
        is_op = torch.zeros(len(prefixes), dtype=torch.bool)
        for r, (g, t) in enumerate(prefixes):
            for i in g.predecessors(t):
                a[r, i] = 1.0
            output = t == g.n_nodes - 1
            is_op[r] = not output
            for j in range(t):
                free[r, j] = 1.0 if not output or j == 0 or g.has_successor(j, t) else 0.0
        log_t, log_1t = torch.log(theta.clamp_min(1e-12)), torch.log1p(-theta.clamp_max(1 - 1e-7))
        per_k = ((a[..., None] * log_t + (1 - a[..., None]) * log_1t) * free[..., None]).sum(1)
        lp = torch.logsumexp(log_alpha + per_k, -1)
        log_empty = torch.logsumexp(log_alpha + (log_1t * free[..., None]).sum(1), -1)
        nonempty = torch.log(-torch.expm1(log_empty.clamp_max(-1e-7)))
        return lp - torch.where(is_op, nonempty, torch.zeros_like(nonempty))

    # --- ancestral sampling -------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> tuple[list[Graph], list[float]]:
        """``n`` graphs and the log-probability of each one's generation path (computed in float64)."""
        graphs = [Graph((), frozenset()) for _ in range(n)]
        logp = [0.0] * n
        active = list(range(n))
        t = 1
        while active:
            logits, log_alpha, theta = self.step_outputs([(graphs[b], t) for b in active])
            probs = torch.softmax(logits.masked_fill(~self.type_mask(t), -math.inf).double(), -1)
            tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            still = []
            for r, b in enumerate(active):
                tok, g = int(tokens[r]), graphs[b]
                logp[b] += math.log(float(probs[r, tok]))
                output = tok == self.space.n_types
                if self.space.fixed:
                    edges = {e for e in self.space.fixed_edges if e[1] == t}
                else:
                    edges, lp = self._sample_edges(g, t, output, log_alpha[r].double().exp(), theta[r].double(),
                                                   generator)  # fmt: skip
                    logp[b] += lp
                ops = g.ops if output else (*g.ops, tok)
                graphs[b] = Graph(ops, g.edges | frozenset(edges))
                if self.space.fixed and t == self.space.max_ops:
                    graphs[b] = Graph(ops, self.space.fixed_edges)
                elif not output:
                    still.append(b)
            active, t = still, t + 1
        return graphs, logp

    def _sample_edges(self, g: Graph, t: int, output: bool, alpha, theta, generator) -> tuple[set, float]:
        """Incoming edges of node t and their log-probability (marginal over the mixture component)."""
        if output:
            forced = [j for j in range(1, t) if not g.has_successor(j, t)]
            free = [j for j in range(t) if j not in forced]
        else:
            forced, free = [], list(range(t))
        th = theta[free]  # (F, K)
        empty = torch.prod(1 - th, 0)  # (K,)
        weight = alpha * (1 - empty) if not output else alpha
        k = int(torch.multinomial(weight / weight.sum(), 1, generator=generator))
        bits, got = [], False
        for q in range(len(free)):
            p = float(th[q, k])
            if not output and not got:
                p = p / -math.expm1(float(torch.log1p(-th[q:, k]).sum()))  # P(a_q = 1 | some a_q.. = 1)
            bit = float(torch.rand(1, generator=generator, dtype=torch.float64)) < p
            bits.append(bit)
            got |= bit
        a = torch.tensor(bits, dtype=torch.float64)
        per_k = torch.prod(th ** a[:, None] * (1 - th) ** (1 - a[:, None]), 0) if free else torch.ones_like(alpha)
        prob = float((alpha * per_k).sum())
        if not output:
            prob /= float(1 - (alpha * empty).sum())
        edges = {(j, t) for j, bit in zip(free, bits) if bit} | {(j, t) for j in forced}
        return edges, math.log(prob)
