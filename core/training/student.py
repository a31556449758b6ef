"""A smaller student of a trained reranker: its upper transformer layers pruned.

Keeping the lower k of n layers (with the trained embeddings and head) and dropping the rest
is the "strategy of dropping top layers" of Sajjad et al., "On the Effect of Dropping Layers of
Pre-trained Transformer Models" (Computer Speech & Language, 2023): for 6-layer MiniLM-sized
models the forward costs about k/n of the teacher's. Optionally the pruned model is then
fine-tuned on the training pairs with the project's training loop (labels, not the teacher's
scores: that is fine-tuning, not distillation). The student folder has the same layout as any
model folder (hf/, ONNX, int8 ONNX, manifest), so `shoprank serve` serves it as it is; its
speed-up and NDCG@10 cost are measured by benchmarks/serving.py (--student).
"""

from __future__ import annotations

import logging
from pathlib import Path

from shoprank.core.common.errors import ConfigError
from shoprank.core.ranking.artifact import HF_SUBDIR, hf_model_dir, trained_max_length
from shoprank.core.text.pair_format import PairFormat

log = logging.getLogger(__name__)


def prune_upper_layers(model_dir: str | Path, out_hf_dir: str | Path, keep_layers: int) -> Path:
    """Write the model in model_dir with only its lowest keep_layers transformer layers to
    out_hf_dir (an HF directory with tokenizer, trained max_length and pair format)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from shoprank.core.training.model_io import save_hf_model

    hf = hf_model_dir(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(hf, num_labels=1).eval()
    layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    if layers is None:
        raise ConfigError(f"pruning needs an encoder with .encoder.layer (BERT-like); {type(model.base_model).__name__} "
                          "has not")
    if not 1 <= keep_layers < len(layers):
        raise ConfigError(f"keep_layers must be from 1 to {len(layers) - 1} (the model has {len(layers)} layers), "
                          f"got {keep_layers}")
    model.base_model.encoder.layer = layers[:keep_layers]
    model.config.num_hidden_layers = keep_layers
    tokenizer = AutoTokenizer.from_pretrained(hf)
    out = save_hf_model(model, tokenizer, out_hf_dir, trained_max_length(hf), PairFormat.stored(hf))
    log.info("student: kept %d of %d layers -> %s", keep_layers, len(layers), out)
    return out


def make_student(model_dir: str | Path, out_dir: str | Path, keep_layers: int, pairs_path: str | Path | None = None,
                 train_config=None) -> dict:
    """A complete student model folder in out_dir; returns its manifest. With pairs_path the
    pruned model is fine-tuned on those pairs (train_config: a TrainConfig; its init_model_dir is
    set to the pruned model)."""
    import dataclasses

    from shoprank.core.training.export import export_model_dir, sha256_file

    out_dir = Path(out_dir)
    teacher_manifest = Path(model_dir) / "manifest.json"
    info = {"teacher_manifest_sha256": sha256_file(teacher_manifest) if teacher_manifest.exists() else None,
            "keep_layers": keep_layers, "fine_tuned": pairs_path is not None}
    if pairs_path is None:
        prune_upper_layers(model_dir, out_dir / HF_SUBDIR, keep_layers)
        return export_model_dir(out_dir, training_config={"student": info})
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig

    pruned = prune_upper_layers(model_dir, out_dir / "pruned", keep_layers)
    config = dataclasses.replace(train_config or TrainConfig(), init_model_dir=str(pruned))
    run_train_stage(pairs_path, out_dir / "student", config)
    return {"student_dir": str(out_dir / "student"), **info}
