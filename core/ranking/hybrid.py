"""The hybrid score: the fine-tuned model's score blended with BM25, the zero-shot cosine and MS MARCO.

Method: per-query score normalisation, then a weighted sum (CombSUM with weights, Fox & Shaw,
"Combination of Multiple Searches", TREC-2 1994; the "wsum" fusion with "min-max" or "zmuv"
normalisation of ranx, Bassani & Romelli, "ranx.fuse: A Python Library for Metasearch", CIKM
2022). One query and its candidates are one normalisation group, in evaluation (a held-out
query's judged candidates) and in serving (one request), so both compute the same score:

    hybrid = sum_c weight_c * norm(score_c over the query's candidates),  c in model, bm25, zeroshot, msmarco

norm "min-max": (s - min) / max(max - min, 1e-9); "zmuv": (s - mean) / max(std, 1e-9) (ranx's
formulas). The weights are fitted on the validation split (core/ranking/hybrid_fit.py) and kept in
the model folder as hybrid.json, which the manifest covers like every other file. BM25 is stored
as the statistics it needs (Lucene BM25 as bm25s computes it: idf = ln(1 + (N - df + 0.5) /
(df + 0.5)), term score idf * tf / (tf + k1 (1 - b + b dl / avgdl)); Kamphuis et al., ECIR 2020),
with bm25s's tokenizer, so any candidate text gets the score the catalogue index would give it.
A component with weight 0 is never computed: the zero-shot encoder and the MS MARCO cross-encoder
(core/ranking/baselines.py) load only when they count. MS MARCO (a 12-layer int8 cross-encoder)
scores each query's candidates as one set, in evaluation and serving alike, because its int8
activations are quantised per batch: the same candidates then get the same scores; a blend that
weights it costs about what the MS MARCO baseline costs per request on top of the model.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.ranking.bm25 import BM25Config

log = logging.getLogger(__name__)

HYBRID_FILE = "hybrid.json"
HYBRID_VERSION = 1
MODEL = "model"
COMPONENTS = (MODEL, "bm25", "zeroshot", "msmarco")
NEURAL = ("zeroshot", "msmarco")  # components that run a network (never on serving's event loop)
NORMS = ("min-max", "zmuv")
_EPS = 1e-9  # ranx's floor on a normalisation denominator


def normalise(scores, norm: str) -> np.ndarray:
    """One query's scores normalised (float64, shape unchanged); see the module docstring."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    if norm == "min-max":
        return (scores - scores.min()) / max(float(scores.max() - scores.min()), _EPS)
    if norm == "zmuv":
        return (scores - scores.mean()) / max(float(scores.std()), _EPS)
    raise ConfigError(f"hybrid norm: expected one of {list(NORMS)}, got {norm!r}")


def _tokenize(texts: Sequence[str], stopwords: str) -> list[list[str]]:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s.tokenize(list(texts), stopwords=stopwords, return_ids=False, show_progress=False)


@dataclasses.dataclass(frozen=True)
class BM25Stats:
    """What BM25 needs of a catalogue: k1, b, stopwords, document count, mean document length
    (tokens) and the IDF of every term (bm25s tokens: lower-cased words of 2+ characters, stopwords out)."""

    k1: float
    b: float
    stopwords: str
    n_docs: int
    avgdl: float
    idf: Mapping[str, float]

    @classmethod
    def from_texts(cls, texts: Sequence[str], config: BM25Config = BM25Config()) -> "BM25Stats":
        """Statistics of the distinct texts (each product counted once, as core/ranking/bm25.py indexes them)."""
        corpus = list(dict.fromkeys(str(t) for t in texts))
        if not corpus:
            raise ConfigError("BM25 statistics: expected at least one product text, got none")
        tokens = _tokenize(corpus, config.stopwords)
        df = Counter(term for doc in tokens for term in set(doc))
        n = len(corpus)
        idf = {term: math.log(1 + (n - count + 0.5) / (count + 0.5)) for term, count in sorted(df.items())}
        avgdl = float(np.mean([len(doc) for doc in tokens]))
        return cls(config.k1, config.b, config.stopwords, n, avgdl, idf)

    def scores(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """BM25 of each text for the query (float64, shape (len(texts),)); query terms the catalogue
        never had score nothing, a repeated query term counts each time (as bm25s does)."""
        terms = [t for t in _tokenize([query], self.stopwords)[0] if t in self.idf]
        out = np.zeros(len(texts), dtype=np.float64)
        if not terms or not len(texts):
            return out
        avgdl = max(self.avgdl, _EPS)
        for i, doc in enumerate(_tokenize([str(t) for t in texts], self.stopwords)):
            tf = Counter(doc)
            norm = self.k1 * (1 - self.b + self.b * len(doc) / avgdl)
            out[i] = sum(self.idf[t] * tf[t] / (tf[t] + norm) for t in terms if tf[t])
        return out

    def to_dict(self) -> dict:
        return {"k1": self.k1, "b": self.b, "stopwords": self.stopwords, "n_docs": self.n_docs,
                "avgdl": self.avgdl, "idf": dict(self.idf)}


@dataclasses.dataclass(frozen=True)
class Blend:
    """A fitted blend: weights per component (summing to 1), the normalisation, whether it ships
    (beat the model alone on validation by the margin), the validation figures behind that, and
    the BM25 statistics (None when BM25's weight is 0)."""

    weights: Mapping[str, float]
    norm: str = "min-max"
    ships: bool = False
    reason: str = ""
    validation: Mapping[str, object] = dataclasses.field(default_factory=dict)
    bm25: BM25Stats | None = None
    zeroshot_batch_size: int = 64

    def __post_init__(self):
        unknown = sorted(set(self.weights) - set(COMPONENTS))
        bad = [name for name, w in self.weights.items() if not (isinstance(w, (int, float)) and 0 <= w <= 1)]
        if unknown or bad or not math.isclose(sum(self.weights.values()), 1.0, abs_tol=1e-6):
            raise ConfigError(f"hybrid weights: expected weights in [0, 1] of {list(COMPONENTS)} summing to 1, "
                              f"got {dict(self.weights)}")
        normalise([0.0], self.norm)
        if self.weight("bm25") > 0 and self.bm25 is None:
            raise ConfigError("hybrid: expected BM25 statistics for a blend that weights bm25, got none")
        if self.ships and self.weight(MODEL) == 0:
            raise ConfigError("hybrid: a blend with model weight 0 is not a hybrid and cannot ship")

    def weight(self, name: str) -> float:
        return float(self.weights.get(name, 0.0))

    @property
    def runs_network(self) -> bool:
        """True when a weighted component other than the model runs a network (zero-shot, MS MARCO)."""
        return any(self.weight(c) > 0 for c in NEURAL)

    @property
    def is_hybrid(self) -> bool:
        """True when some component other than the model has a weight (else it ranks as the model does)."""
        return self.weight(MODEL) > 0 and any(self.weight(c) > 0 for c in COMPONENTS if c != MODEL)

    def apply(self, model_scores, query: str, texts: Sequence[str]) -> np.ndarray:
        """The blended scores (float32, input order) of one query's candidates.

        model_scores: the model's scores of the candidates (shape (n,)); texts: their product texts
        (core/text/product_text.py, as the pairs table holds them). Raises ConfigError on a length mismatch."""
        model_scores = np.asarray(model_scores, dtype=np.float64)
        if model_scores.shape != (len(texts),):
            raise ConfigError(f"hybrid: expected one model score per candidate text ({len(texts)}), "
                              f"got shape {model_scores.shape}")
        return self._blend(model_scores, self.component_scores([query] * len(texts), texts))

    def _blend(self, model_scores: np.ndarray, components: Mapping[str, np.ndarray]) -> np.ndarray:
        """One query's weighted sum of normalised scores (float32)."""
        blended = self.weight(MODEL) * normalise(model_scores, self.norm)
        for name, scores in components.items():
            blended += self.weight(name) * normalise(scores, self.norm)
        return blended.astype(np.float32)

    def component_scores(self, queries: Sequence[str], texts: Sequence[str],
                         cache_dir: str | None = None) -> dict[str, np.ndarray]:
        """Raw scores of the weighted components other than the model, per (query, text) pair
        (cache_dir: the zero-shot encoder's embedding cache, None = none)."""
        out = {}
        groups: dict[str, list[int]] = {}
        for i, q in enumerate(queries):
            groups.setdefault(str(q), []).append(i)
        if self.weight("bm25") > 0:
            out["bm25"] = np.zeros(len(texts))
            for q, rows in groups.items():
                out["bm25"][rows] = self.bm25.scores(q, [texts[i] for i in rows])
        if self.weight("zeroshot") > 0:
            from shoprank.core.ranking.baselines import zeroshot_scores

            out["zeroshot"] = zeroshot_scores(list(queries), list(texts), self.zeroshot_batch_size,
                                              cache_dir).astype(np.float64)
        if self.weight("msmarco") > 0:
            from shoprank.core.ranking.baselines import msmarco_scores

            out["msmarco"] = np.zeros(len(texts))
            for q, rows in groups.items():  # one query's candidates a set: the same set scores the same
                out["msmarco"][rows] = msmarco_scores([q] * len(rows), [texts[i] for i in rows],
                                                      self.zeroshot_batch_size)
        return out

    def score_frame(self, frame, model_scores, cache_dir: str | None = None) -> np.ndarray:
        """apply() for every query_id of a pairs frame (columns query_id, query, product_text), each
        query's candidates one normalisation group; the components are scored in one pass. float32, row order."""
        model_scores = np.asarray(model_scores, dtype=np.float64)
        if model_scores.shape != (len(frame),):
            raise ConfigError(f"hybrid: expected one model score per row ({len(frame)}), "
                              f"got shape {model_scores.shape}")
        components = self.component_scores(frame["query"].astype(str).tolist(),
                                           frame["product_text"].astype(str).tolist(), cache_dir)
        out = np.zeros(len(frame), dtype=np.float32)
        for rows in frame.groupby("query_id", sort=False).indices.values():
            out[rows] = self._blend(model_scores[rows], {name: scores[rows] for name, scores in components.items()})
        return out

    def to_dict(self) -> dict:
        return {"version": HYBRID_VERSION, "method": "CombSUM (weighted sum) of per-query normalised scores",
                "components": list(COMPONENTS), "weights": {c: self.weight(c) for c in COMPONENTS},
                "norm": self.norm, "ships": self.ships, "reason": self.reason, "validation": dict(self.validation),
                "bm25": self.bm25.to_dict() if self.bm25 is not None else None,
                "zeroshot_batch_size": self.zeroshot_batch_size}

    @classmethod
    def from_dict(cls, data) -> "Blend":
        if not isinstance(data, dict) or not isinstance(data.get("weights"), dict):
            raise ConfigError(f"{HYBRID_FILE}: expected an object with weights, norm, ships and bm25, got "
                              f"{str(data)[:120]}")
        if data.get("version") != HYBRID_VERSION:
            raise ConfigError(f"{HYBRID_FILE}: expected version {HYBRID_VERSION}, got {data.get('version')!r}")
        bm25 = data.get("bm25")
        try:
            stats = BM25Stats(float(bm25["k1"]), float(bm25["b"]), str(bm25["stopwords"]), int(bm25["n_docs"]),
                              float(bm25["avgdl"]), dict(bm25["idf"])) if bm25 else None
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{HYBRID_FILE}: expected bm25 with k1, b, stopwords, n_docs, avgdl and idf, "
                              f"got {sorted(bm25) if isinstance(bm25, dict) else type(bm25).__name__} ({exc})") from exc
        return cls(weights={k: v for k, v in data["weights"].items()}, norm=data.get("norm", "min-max"),
                   ships=bool(data.get("ships")), reason=str(data.get("reason", "")),
                   validation=data.get("validation") or {}, bm25=stats,
                   zeroshot_batch_size=int(data.get("zeroshot_batch_size", 64)))

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / HYBRID_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
        return path


def load_blend(model_dir: str | Path) -> Blend | None:
    """The blend in model_dir/hybrid.json, or None when the folder has none (it serves the model alone).
    Raises ConfigError for a file that is not a valid blend."""
    path = Path(model_dir) / HYBRID_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: expected JSON, got a parse error ({exc})") from exc
    return Blend.from_dict(data)


def shipped_blend(model_dir: str | Path) -> Blend | None:
    """The folder's blend when it ships (serving applies it), else None (the model's own scores)."""
    blend = load_blend(model_dir)
    return blend if blend is not None and blend.ships else None
