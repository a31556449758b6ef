"""Hyperparameters and budgets of one fine-tune (TrainConfig), and the key that identifies a run."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from shoprank.core.common.errors import ConfigError
from shoprank.core.common.precision import check_precision
from shoprank.core.text.locale_words import DEFAULT_LOCALE
from shoprank.core.text.pair_format import PairFormat
from shoprank.core.training.distill import check_teacher
from shoprank.core.training.losses import LOSSES

_UNKEYED_FIELDS = ("log_every", "checkpoint_every", "num_threads", "max_minutes")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters and budgets of one fine-tune.

    The defaults (listwise loss, lr 2e-4, 3 epochs, weights averaged with ema_decay 0.995) train
    on the built-in sample in about 6 minutes on 2 CPU cores with native bf16, 15 in fp32 on an
    AVX2-only CPU. Over three seeds they generalised best to an unseen catalogue's queries
    (benchmarks/train_configs.py; figures in the train component's README). On a GPU raise
    batch_size and max_length (96-128); for long titles on CPU, max_length=None fits it to the
    pairs (README).
    """

    lr: float = 2e-4                 # peak AdamW learning rate (after linear warmup)
    batch_size: int = 48             # pairs per micro-batch per process (list losses pack whole lists)
    epochs: int = 3                  # passes over the training pairs
    warmup_ratio: float = 0.1        # share of optimizer steps with linearly rising lr; then linear decay to 0
    weight_decay: float = 0.01       # AdamW decoupled decay (not on biases and LayerNorm weights)
    layer_lr_decay: float = 1.0      # lr x decay^(layers above): lower layers keep more of the pretrained encoder
    frozen_layers: int = 0           # lowest layers kept as pretrained: 1 = the embeddings, 2 = also the first
                                     # transformer layer, ...; no backward pass or optimizer state for them
    dropout: float | None = None     # dropout in the encoder and head; None = the pretrained model's (0.1).
                                     # 0 also lets CPU attention run its fused kernel
    grad_accum: int = 1              # micro-batches per optimizer step
    max_grad_norm: float = 1.0       # gradient clipping; 0 disables
    ema_decay: float = 0.995         # validate and keep a moving average of the weights (0 = the last step's;
                                     # a run under two windows, 2 / (1 - decay) steps, keeps the last step's too)
    loss: str = "listwise"           # listwise | pointwise | pairwise (listwise ranked best over three seeds; README)
    list_size: int = 32              # most candidates of one query ranked together by the list losses
    max_length: int | None = 64      # tokens per (query, text) pair, stored with the model for inference;
                                     # None = fitted to the pairs (train_data.fitted_max_length: 64..128)
    query_typo_rate: float = 0.0     # share of training queries misspelt afresh each epoch (robustness to typos)
    # Query features (core/text/query_features.py), stored with the model so it is scored as trained:
    price_limits: bool = True        # "under $40": "(over budget)" / "(within budget)" after the price
    low_price_words: bool = True     # "cheap mug": "(lowest-priced third of its category here)" etc.; "chep" read as "cheap"
    spelling_notes: bool = True      # "Ashhby mouse (ashby)": the candidates' nearest word after a misspelt query word
    default_locale: str = DEFAULT_LOCALE  # the locale of queries without one (core/text/locale_words.py)
    shopper_history: bool = False    # the pairs' `history` (recent items, core/text/shopper_history.py) after the query
    max_pairs: int | None = None     # budget: training pairs used (whole queries, seeded choice)
    max_steps: int | None = None     # budget: optimizer steps
    max_minutes: float | None = None  # budget: wall-clock minutes of training (stops after the current step;
                                      # the lr schedule then runs over the minutes, see LinearWarmupDecay)
    eval_every: int = 0              # optimizer steps between validation runs; 0 = once per epoch
    patience: int = 2                # validation runs without NDCG@10 gain before stopping; 0 = never stop early
    checkpoint_every: int = 100      # optimizer steps between checkpoints (and one per epoch); 0 = per epoch only
    log_every: int = 20              # optimizer steps between progress lines
    seed: int = 0
    precision: str = "auto"          # auto = bf16 autocast where the GPU/CPU runs bf16 natively, else fp32
    device: str = "auto"             # auto | cpu | cuda
    cuda_graphs: bool = False        # single CUDA GPU: replay each batch shape's forward+backward as a CUDA graph
    num_threads: int | None = None   # torch CPU threads; None = torch's default
    eval_batch_size: int = 128
    init_model_dir: str | None = None  # None = the packaged all-MiniLM-L6-v2 encoder
    # Warm start by distillation (core/training/distill.py): the MS MARCO cross-encoder scores the training
    # pairs and the student also learns its score margins (Margin-MSE, Hofstaetter et al. 2020); off by itself
    # when the teacher ranks the training labels no better than BM25 (e.g. another language).
    distill_teacher: str | None = "msmarco"  # msmarco | None (off)
    distill_weight: float = 1.0      # weight of the Margin-MSE term next to the label loss; 0 = off

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        check_precision(self.precision)
        check_teacher(self.distill_teacher, self.distill_weight)
        for name in ("batch_size", "epochs", "grad_accum", "list_size", "max_length", "eval_batch_size"):
            if name == "max_length" and self.max_length is None:
                continue
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.layer_lr_decay <= 1:
            raise ConfigError(f"layer_lr_decay must be in (0, 1], got {self.layer_lr_decay}")
        if self.frozen_layers < 0:
            raise ConfigError(f"frozen_layers must be >= 0, got {self.frozen_layers}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1) or None, got {self.dropout}")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 0 <= self.query_typo_rate <= 1:
            raise ConfigError(f"query_typo_rate must be in [0, 1], got {self.query_typo_rate}")
        if not self.lr > 0 or not 0 <= self.warmup_ratio < 1 or self.weight_decay < 0:
            raise ConfigError(f"need lr > 0, 0 <= warmup_ratio < 1, weight_decay >= 0; got lr={self.lr}, "
                              f"warmup_ratio={self.warmup_ratio}, weight_decay={self.weight_decay}")
        if self.cuda_graphs and self.device == "cpu":
            raise ConfigError("cuda_graphs needs device 'cuda' or 'auto' (graphs replay CUDA kernels), got device 'cpu'")
        for name in ("max_pairs", "max_steps", "max_minutes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be positive or None, got {value}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def pair_format(self) -> PairFormat:
        """The latest version of each pair addition, with the query features that are on (stored with the model)."""
        return PairFormat.latest(self.price_limits, self.low_price_words, self.spelling_notes, self.default_locale,
                                 self.shopper_history)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown TrainConfig fields {unknown}; known: {sorted(known)}")
        return cls(**values)


def run_key(config: TrainConfig, fingerprint: str, world_size: int) -> str:
    keyed = {k: v for k, v in config.to_dict().items() if k not in _UNKEYED_FIELDS}
    keyed.update(dataclasses.asdict(config.pair_format))  # which additions the pairs carry, not just on/off
    payload = json.dumps({"config": keyed, "data": fingerprint, "world_size": world_size}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
