"""HL sequences from the SG for a condition y (paper Eq. 8), batched, grammar-constrained, seeded.

Sampled decoding draws from the full next-token distribution (no top-k/top-p truncation) at a temperature;
greedy decoding gives the paper's deterministic macro sequence, and the randomness of the networks then
comes from the cells GenCell draws for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from transformers import GPTNeoForCausalLM, LogitsProcessorList

from nasgen.errors import ConfigError
from nasgen.sg.grammar import GrammarLogitsProcessor
from nasgen.sg.model import max_length
from nasgen.sg.tokenizer import EOS, PAD, SGTokenizer
from nasgen.space.macro import DEFAULT_CLASSES, DEFAULT_INPUT, HLSequence

SAMPLE_BATCH = 256  # sequences per generate() call


@dataclass
class Generated:
    sequences: list[HLSequence | None]  # None where the tokens did not parse (the grammar should prevent it)
    errors: list[str | None]  # aligned with ``sequences``: why a sequence is None

    @property
    def valid(self) -> list[HLSequence]:
        return [s for s in self.sequences if s is not None]


@torch.no_grad()
def sample_bodies(model: GPTNeoForCausalLM, tokenizer: SGTokenizer, condition: Mapping[str, float], n: int,
                  decoding: str = "sample", temperature: float = 1.0, seed: int = 0) -> list[list[int]]:  # fmt: skip
    """Token ids after the prompt of ``n`` sequences (greedy: one sequence, repeated)."""
    if n < 1:
        raise ConfigError(f"asked for {n} sequences; n must be at least 1")
    if decoding not in ("sample", "greedy"):
        raise ConfigError(f"decoding must be 'sample' or 'greedy', got {decoding!r}")
    model.eval()
    dev = next(model.parameters()).device
    prompt = torch.tensor([tokenizer.condition_ids(condition)], device=dev)
    new_tokens = max_length(tokenizer) - prompt.shape[1]
    options = dict(max_new_tokens=new_tokens, pad_token_id=PAD, eos_token_id=EOS,
                   logits_processor=LogitsProcessorList([GrammarLogitsProcessor(tokenizer)]))  # fmt: skip
    if decoding == "greedy":
        out = model.generate(prompt, do_sample=False, **options)
        return [out[0, prompt.shape[1] :].tolist()] * n
    bodies: list[list[int]] = []
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        for i in range(0, n, SAMPLE_BATCH):
            m = min(SAMPLE_BATCH, n - i)
            out = model.generate(prompt.expand(m, -1), do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                                 **options)  # fmt: skip
            bodies += out[:, prompt.shape[1] :].tolist()
    return bodies


def generate(model: GPTNeoForCausalLM, tokenizer: SGTokenizer, condition: Mapping[str, float], n: int,
             decoding: str = "sample", temperature: float = 1.0, seed: int = 0, input_shape=DEFAULT_INPUT,
             classes: int = DEFAULT_CLASSES) -> Generated:  # fmt: skip
    """``n`` HL sequences for ``condition`` at the given input shape and class count."""
    seqs: list[HLSequence | None] = []
    errors: list[str | None] = []
    for body in sample_bodies(model, tokenizer, condition, n, decoding, temperature, seed):
        try:
            seqs.append(tokenizer.decode_body(body, input_shape, classes))
            errors.append(None)
        except ValueError as e:  # InvalidSequenceError / InvalidMacroError
            seqs.append(None)
            errors.append(str(e))
    return Generated(seqs, errors)
