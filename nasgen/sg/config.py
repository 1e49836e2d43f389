"""The GPT-Neo sequence generator (stage `sg`)."""

from __future__ import annotations

from pydantic import Field, model_validator

from nasgen.frozen import Frozen


class SGConfig(Frozen):
    """Sequence generator: GPT-Neo over HL sequences with condition tokens (paper Section 4.3, Appendix A)."""

    condition_fields: tuple[str, ...] = ("params", "flops", "naswot", "snip_ssnr", "tcet")  # y = z(alpha(alpha_hat))
    bins: int = Field(16, ge=2)  # per condition field; quantile edges of the history
    base_model: str | None = None  # local GPT-Neo checkpoint directory (paper: GPT-Neo-125M); None: from scratch
    layers: int = Field(4, ge=1)  # of the from-scratch model (GPT-Neo-125M: 12)
    hidden: int = Field(128, ge=8)  # (GPT-Neo-125M: 768)
    heads: int = Field(4, ge=1)  # (GPT-Neo-125M: 12)
    dropout: float = Field(0.1, ge=0, lt=1)
    drop_condition: float = Field(0.5, ge=0, le=1)  # probability of dropping each condition token (Appendix A)
    lr: float = Field(1e-3, gt=0)  # the paper's
    weight_decay: float = Field(0.01, ge=0)
    batch_size: int = Field(32, ge=1)  # the paper fine-tunes with 1
    epochs: int = Field(60, ge=1)
    patience: int = Field(10, ge=1)
    val_fraction: float = Field(0.1, ge=0, lt=1)  # of the distinct HL sequences
    seed: int = 0

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> SGConfig:
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")
        return self
