"""GPT-Neo for HL sequences: a small config from scratch, or a local checkpoint (paper: GPT-Neo-125M).

Nothing is ever downloaded: ``base_model`` must be a local directory (``local_files_only``). A checkpoint's
vocabulary is resized to the SG's tokens, since the text embeddings mean nothing to HL tokens; its
transformer blocks are what fine-tuning reuses. Weights are stored as safetensors with the config as JSON;
the tied LM head is not stored twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import GPTNeoConfig, GPTNeoForCausalLM

from nasgen.errors import ArtifactMissingError, CorruptArtifactError
from nasgen.sg.config import SGConfig
from nasgen.sg.tokenizer import BOS, EOS, PAD, TOKENS_PER_POSITION, SGTokenizer
from nasgen.space.macro import MAX_LAYERS

TIED = "lm_head.weight"


def max_length(tokenizer: SGTokenizer) -> int:
    """Longest sequence: <bos>, every condition token, <sep>, MAX_LAYERS triples, <eos>."""
    return 1 + len(tokenizer.fields) + 1 + TOKENS_PER_POSITION * MAX_LAYERS + 1


def build(tokenizer: SGTokenizer, cfg: SGConfig) -> GPTNeoForCausalLM:
    torch.manual_seed(cfg.seed)
    if cfg.base_model is not None:
        return _from_checkpoint(Path(cfg.base_model), tokenizer)
    config = GPTNeoConfig(
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=max_length(tokenizer),
        hidden_size=cfg.hidden,
        num_layers=cfg.layers,
        num_heads=cfg.heads,
        attention_types=[[["global"], cfg.layers]],
        intermediate_size=4 * cfg.hidden,
        embed_dropout=cfg.dropout,
        attention_dropout=cfg.dropout,
        resid_dropout=cfg.dropout,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
    )
    return GPTNeoForCausalLM(config)


def _from_checkpoint(path: Path, tokenizer: SGTokenizer) -> GPTNeoForCausalLM:
    if not (path / "config.json").is_file():
        raise ArtifactMissingError(f"base_model {path} is not a local GPT-Neo checkpoint (no config.json there)")
    try:
        model = GPTNeoForCausalLM.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as e:
        raise CorruptArtifactError(f"base_model {path} does not load as GPT-Neo: {e}") from None
    if model.config.max_position_embeddings < max_length(tokenizer):
        raise CorruptArtifactError(f"base_model {path} has {model.config.max_position_embeddings} positions; "
                                   f"HL sequences need {max_length(tokenizer)}")  # fmt: skip
    model.resize_token_embeddings(tokenizer.vocab_size)
    model.config.update({"bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": PAD})
    return model


def state_dict(model: GPTNeoForCausalLM) -> dict[str, torch.Tensor]:
    sd = model.state_dict()
    if model.config.tie_word_embeddings:
        sd.pop(TIED, None)
    return {k: v.detach().cpu() for k, v in sd.items()}


def restore(config: dict[str, Any], weights: dict[str, torch.Tensor], where: str) -> GPTNeoForCausalLM:
    """The model of a stored config and state dict (eval mode)."""
    model = GPTNeoForCausalLM(GPTNeoConfig(**config))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    allowed_missing = {TIED} if model.config.tie_word_embeddings else set()
    if unexpected or set(missing) - allowed_missing:
        raise CorruptArtifactError(f"SG weights at {where} do not fit its config: missing {sorted(missing)[:5]}, "
                                   f"unexpected {sorted(unexpected)[:5]}")  # fmt: skip
    model.tie_weights()
    return model.eval()
