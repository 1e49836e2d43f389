"""PyTorch-loadable export of a chosen network: its spec (MacroArch JSON) plus a state dict in safetensors.

The state dict is the network's seeded initialisation (the weights T-CET was measured on), so loading the
pair rebuilds exactly the scored module; training starts from it or from a fresh init. The weights file is
a nasgen checkpoint (the spec rides in its metadata), so `nasgen.train` loads it as it is.
"""

from __future__ import annotations

import torch

from nasgen.errors import CorruptArtifactError
from nasgen.space.macro import MacroArch
from nasgen.space.network import Network
from nasgen.train.checkpoint import checkpoint_bytes, load_checkpoint
from nasgen.zc.scorer import derive_seed, seeded_network


def export_network(macro: MacroArch, seed: int) -> tuple[str, bytes]:
    """(spec JSON, safetensors bytes) of ``macro`` initialised as the scorer initialises it."""
    return macro.to_json(), checkpoint_bytes(seeded_network(macro, derive_seed(seed, macro.arch_id)), macro)


def load_network(spec: str, weights: bytes, device: str | torch.device = "cpu") -> Network:
    """The module of an exported (spec, weights) pair, in eval mode; the weights must belong to the spec."""
    net, stored = load_checkpoint(weights, device)
    macro = MacroArch.from_json(spec)
    if stored != macro:
        raise CorruptArtifactError(f"weights of network {stored.arch_id} do not belong to spec {macro.arch_id}")
    return net
