"""The grammar of HL sequences as a transformers LogitsProcessor: every sampled sequence parses.

After ``<sep>`` the body is (cluster, channels, stride) triples: at a triple boundary the next token is a
cluster (while fewer than MAX_LAYERS positions) or ``<eos>`` (once there is at least one); inside a triple
the kind is fixed by the offset. After ``<eos>`` only padding may follow. Tokens the grammar forbids get
logit -inf, so greedy and sampled decoding alike only ever choose allowed tokens.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

from nasgen.sg.tokenizer import EOS, PAD, SEP, TOKENS_PER_POSITION, SGTokenizer
from nasgen.space.macro import MAX_LAYERS


class GrammarLogitsProcessor(LogitsProcessor):
    def __init__(self, tokenizer: SGTokenizer, max_positions: int = MAX_LAYERS):
        if not 1 <= max_positions <= MAX_LAYERS:
            raise ValueError(f"max_positions must be in 1..{MAX_LAYERS}, got {max_positions}")
        self.max_positions = max_positions
        r = tokenizer.token_ranges()
        v = tokenizer.vocab_size

        def mask(*ranges: range, extra: tuple[int, ...] = ()) -> torch.Tensor:
            m = torch.zeros(v, dtype=torch.bool)
            for rg in ranges:
                m[rg.start : rg.stop] = True
            m[list(extra)] = True
            return m

        self.masks = {
            "first": mask(r["cluster"]),  # no empty network
            "boundary": mask(r["cluster"], extra=(EOS,)),
            "full": mask(extra=(EOS,)),  # MAX_LAYERS positions written
            "channels": mask(r["channels"]),
            "stride": mask(r["stride"]),
            "done": mask(extra=(PAD, EOS)),
        }

    def allowed(self, input_ids: torch.LongTensor) -> torch.Tensor:
        """(B, V) bool: what may come next after each row of ``input_ids`` (each holds exactly one <sep>)."""
        is_sep = input_ids == SEP
        if not bool(is_sep.any(dim=1).all()):
            raise ValueError("every row must contain the <sep> that ends its condition prompt")
        length = input_ids.shape[1]
        sep_at = is_sep.int().argmax(dim=1)
        body = length - 1 - sep_at  # tokens after <sep>
        after = torch.arange(length, device=input_ids.device)[None, :] > sep_at[:, None]
        done = ((input_ids == EOS) & after).any(dim=1)
        phase = body % TOKENS_PER_POSITION
        positions = body // TOKENS_PER_POSITION
        m = self.masks
        out = torch.empty((len(input_ids), len(m["done"])), dtype=torch.bool)
        for i in range(len(input_ids)):
            if done[i]:
                out[i] = m["done"]
            elif phase[i] == 1:
                out[i] = m["channels"]
            elif phase[i] == 2:
                out[i] = m["stride"]
            elif positions[i] == 0:
                out[i] = m["first"]
            elif positions[i] >= self.max_positions:
                out[i] = m["full"]
            else:
                out[i] = m["boundary"]
        return out.to(input_ids.device)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        allowed = self.allowed(input_ids)
        if scores.shape[1] > allowed.shape[1]:  # a base model's larger vocabulary: the rest is never allowed
            extra = scores.shape[1] - allowed.shape[1]
            allowed = torch.cat([allowed, allowed.new_zeros((len(allowed), extra))], dim=1)
        return scores.masked_fill(~allowed, float("-inf"))
