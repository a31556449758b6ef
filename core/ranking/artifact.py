"""The model artifact directory: its file names and the settings stored in it.

    hf/               HF model dir (AutoModelForSequenceClassification, num_labels=1) + tokenizer
    model.onnx        fp32 ONNX export (inputs input_ids, attention_mask[, token_type_ids]; output logits)
    model.int8.onnx   dynamically quantised int8 ONNX
    manifest.json     sha256 of every file, training config, data fingerprint, metrics
"""

from __future__ import annotations

import json
from pathlib import Path

from shoprank.core.common.errors import ConfigError

DEFAULT_MAX_LENGTH = 128
HF_SUBDIR = "hf"
ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model.int8.onnx"
MANIFEST_FILE = "manifest.json"
# BERT-style position tables end at 512; tokenizers without a limit report ~1e30.
MAX_POSITIONS = 512


def hf_model_dir(model_dir: str | Path) -> Path:
    """The HF directory inside a model artifact directory, or the directory itself when bare."""
    model_dir = Path(model_dir)
    if (model_dir / HF_SUBDIR / "config.json").exists():
        return model_dir / HF_SUBDIR
    if (model_dir / "config.json").exists():
        return model_dir
    raise ConfigError(
        f"expected a model artifact directory with {HF_SUBDIR}/config.json or a bare HF directory "
        f"with config.json, got {model_dir} (contents: {sorted(p.name for p in model_dir.glob('*'))[:10]})"
    )


def stored_setting(hf_dir: str | Path, file_name: str, key: str):
    """One top-level value of a JSON file in the HF directory; None when the file or key is missing."""
    path = Path(hf_dir) / file_name
    return json.loads(path.read_text()).get(key) if path.exists() else None


def trained_max_length(hf_dir: str | Path) -> int:
    """The truncation length stored with the tokenizer, capped at the position table size."""
    value = stored_setting(hf_dir, "tokenizer_config.json", "model_max_length")
    if not isinstance(value, (int, float)) or value <= 0:
        return DEFAULT_MAX_LENGTH
    return int(min(value, MAX_POSITIONS))


def stored_pad_token(hf_dir: Path) -> str:
    token = stored_setting(hf_dir, "tokenizer_config.json", "pad_token")
    if isinstance(token, dict):  # older tokenizers store an AddedToken
        token = token.get("content")
    return token or "[PAD]"
