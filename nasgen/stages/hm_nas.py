"""Stage `hm_nas`: hierarchical masking of a trained `supernet` and fine-tuning of the masked network
(Algorithm 1, lines 9-17), with the architecture the masks derive in the supernet's space.

Key: the `supernet` artifact and the hm_nas config. Written: ``masks.safetensors`` (the binary masks, by what
they mask), ``finetuned.safetensors`` (the masked network's weights after fine-tuning, masked weights zero),
``summary.json`` (the derived architecture: an NB-201 string and index, or a GraphNet cell and its macro
network at the supernet's skeleton; the masks' kept shares; validation and test accuracy of the supernet, the
searched network before fine-tuning and after it (the chapter's Table 2.3); rows and seconds of each loop).
"""

from __future__ import annotations

import torch

from nasgen.hm_nas.config import HMNASConfig
from nasgen.hm_nas.derive import graphnet_from_masks, graphnet_macro, nb201_from_masks
from nasgen.hm_nas.training import (
    Masked,
    apply_masks,
    finetune,
    fix_weights,
    kept_fractions,
    learn_masks,
    loader,
    search_data,
)
from nasgen.nb201.arch import to_index, to_string
from nasgen.stages import supernet as supernet_stage
from nasgen.store import ArtifactStore, Ref, content_key, store_of

STAGE = "hm_nas"
MASKS = "masks.safetensors"
FINETUNED = "finetuned.safetensors"
SUMMARY = "summary.json"


def key(supernet_ref: Ref, cfg: HMNASConfig) -> str:
    return content_key(STAGE, cfg, upstream=[supernet_ref])


def derived(net, kept: dict[str, torch.Tensor], input_shape, classes) -> dict:
    """The masks' architecture in the supernet's space (NB-201 string and index, or cell and macro spec)."""
    alpha = net.alpha.detach().cpu()
    ops, edges = kept["ops"].cpu(), kept["edges"].cpu()
    if net.cfg.space == "nb201":
        arch = nb201_from_masks(alpha, ops, edges)
        return {"nb201": to_string(arch), "nb201_index": to_index(arch)}
    cell = graphnet_from_masks(alpha, ops, edges, net.cfg)
    return {"cell": cell.to_dict(), "macro": graphnet_macro(cell, net.cfg, input_shape, classes).to_dict()}


def compute(store: ArtifactStore, supernet_ref: Ref, cfg: HMNASConfig, device: str = "cpu", progress=None) -> Ref:
    net = supernet_stage.load_supernet(supernet_ref)
    before = store_of(supernet_ref).read_json(supernet_ref, supernet_stage.SUMMARY)
    ds = supernet_stage.task_data(net.cfg.dataset)
    w_images, arch_images = search_data(ds, net.cfg)
    images = torch.utils.data.ConcatDataset([w_images, arch_images])  # masks learn on every search image
    val = loader(ds.val, supernet_stage.EVAL_BATCH, 0, shuffle=False)
    seed, batch = net.cfg.seed, net.cfg.batch_size
    masks, mask_rows = learn_masks(net, images, cfg, batch, seed, val, device, progress)
    kept = masks.kept()
    searched_acc = supernet_stage.accuracy(Masked(net, masks), ds, device)
    arch = derived(net, kept, ds.input_shape, ds.classes)
    searched = apply_masks(net, kept)
    ft_rows = finetune(searched, images, cfg, batch, seed, val, device, progress)
    finetuned_acc = supernet_stage.accuracy(searched, ds, device)
    fix_weights(net)
    summary = {"derived": arch, **kept_fractions(kept),
               "supernet": {k: before[k] for k in ("val_top1", "test_top1")},
               "searched": searched_acc, "finetuned": finetuned_acc,
               "nonzero_weights": int(sum((p != 0).sum() for p in net.weight_parameters())),
               "mask_rows": mask_rows, "finetune_rows": ft_rows,
               "seconds": {"supernet": before["seconds"], "masks": sum(r["seconds"] for r in mask_rows),
                           "finetune": sum(r["seconds"] for r in ft_rows)}}  # fmt: skip
    config = {"hm_nas": cfg.model_dump(mode="json"), "supernet": supernet_ref.key}
    with store.writer(STAGE, key(supernet_ref, cfg), config=config, upstream=[supernet_ref]) as w:
        w.write_safetensors(MASKS, {k.replace(".", "/"): v.cpu() for k, v in kept.items()})
        w.write_safetensors(FINETUNED, {k: v.detach().cpu() for k, v in net.state_dict().items()})
        w.write_json(SUMMARY, summary)
        w.rows = len(mask_rows) + len(ft_rows)
        w.meta.update(metrics={"derived": arch, "finetuned_test_top1": finetuned_acc["test_top1"]})
    return w.ref
