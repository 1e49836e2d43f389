"""Checkpoints of trained networks: the MacroArch spec plus the state dict in safetensors (no pickle)."""

from __future__ import annotations

import json

from safetensors.torch import load, save
from torch import nn

from nasgen.errors import CorruptArtifactError
from nasgen.space.macro import MacroArch
from nasgen.train.references import PlainNet, build, spec_from_dict


def checkpoint_bytes(net: nn.Module, macro: MacroArch | PlainNet) -> bytes:
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    return save(state, metadata={"arch_id": macro.arch_id, "spec": macro.to_json()})


def load_checkpoint(blob: bytes, device: str = "cpu") -> tuple[nn.Module, MacroArch | PlainNet]:
    """The network (eval mode) and its spec from checkpoint bytes; the spec travels in the metadata."""
    try:
        state = load(blob)
        meta = safetensors_metadata(blob)
        macro = spec_from_dict(json.loads(meta["spec"]))
    except Exception as e:  # safetensors' own error, a bad header, no spec in the metadata, an invalid spec
        raise CorruptArtifactError(f"not a nasgen checkpoint: {e}") from None
    net = build(macro)
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise CorruptArtifactError(f"weights do not fit network {macro.arch_id}: {str(e).splitlines()[-1]}") from None
    if missing or unexpected:
        raise CorruptArtifactError(f"checkpoint of {macro.arch_id} does not fit its spec: missing {missing[:3]}, "
                                   f"unexpected {unexpected[:3]}")  # fmt: skip
    return net.to(device).eval(), macro


def safetensors_metadata(blob: bytes) -> dict[str, str]:
    """The safetensors header's __metadata__ (8-byte little-endian header length, then JSON)."""
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + n]).get("__metadata__", {})
