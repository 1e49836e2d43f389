"""PyTorch-loadable export of a chosen network: its spec (MacroArch JSON) plus a state dict in safetensors.

The state dict is the network's seeded initialisation (the weights T-CET was measured on), so loading the
pair rebuilds exactly the scored module; training starts from it or from a fresh init. Loading checks
that the weights fit the spec and names what does not.
"""

from __future__ import annotations

import torch
from safetensors.torch import load, save

from nasgen.errors import CorruptArtifactError
from nasgen.space.macro import MacroArch
from nasgen.space.network import Network, build_network
from nasgen.zc.scorer import derive_seed, seeded_network


def export_network(macro: MacroArch, seed: int) -> tuple[str, bytes]:
    """(spec JSON, safetensors bytes) of ``macro`` initialised as the scorer initialises it."""
    net = seeded_network(macro, derive_seed(seed, macro.arch_id))
    return macro.to_json(), save({k: v.detach().contiguous() for k, v in net.state_dict().items()},
                                 metadata={"arch_id": macro.arch_id})  # fmt: skip


def load_network(spec: str, weights: bytes, device: str | torch.device = "cpu") -> Network:
    """The module of an exported (spec, weights) pair, in eval mode."""
    macro = MacroArch.from_json(spec)
    try:
        state = load(weights)
    except Exception as e:
        raise CorruptArtifactError(f"network weights are not readable safetensors: {e}") from None
    net = build_network(macro)
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise CorruptArtifactError(f"weights do not fit network {macro.arch_id}: {str(e).splitlines()[-1]}") from None
    if missing or unexpected:
        raise CorruptArtifactError(f"weights do not fit network {macro.arch_id}: missing {sorted(missing)[:3]}, "
                                   f"unexpected {sorted(unexpected)[:3]}")  # fmt: skip
    return net.to(device).eval()
