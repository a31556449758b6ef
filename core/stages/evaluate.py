"""The evaluate stage: score held-out pairs with every ranker, decide, write JSON and HTML.

Called by the `evaluate` component; also usable directly:
    run_evaluate_stage("pairs.parquet", "model/", "evaluation.json", "report.html",
                       gate=GateConfig(min_ndcg=0.6))
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Callable

from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.data.pairs import read_pairs
from shoprank.core.evaluation.gate import CHAMPION, GateConfig, evaluate, score_rankers
from shoprank.core.evaluation.metrics import DEFAULT_K, relevant_label
from shoprank.core.evaluation.shipped import candidate_scorers

log = logging.getLogger(__name__)

BASELINES = ("bm25", "zeroshot", "msmarco")
RUNTIMES = ("torch", "onnx", "onnx-int8")


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """What to evaluate on and against.

    split: the held-out split of the pairs table to score ("test" by default).
    baselines: any of "bm25", "zeroshot" (pretrained bi-encoder cosine), "msmarco"
        (off-the-shelf MS MARCO cross-encoder).
    k: cut-off of NDCG@k and Recall@k.
    batch_size: scoring batch size of the neural rankers.
    cache_dir: where zero-shot embeddings are cached (None: no cache).
    runtime: how the new model and the champion are scored: "torch" (the HF folder),
        "onnx" (model.onnx) or "onnx-int8" (model.int8.onnx), e.g. to gate what is served.
    """

    split: str = "test"
    baselines: tuple[str, ...] = BASELINES
    k: int = DEFAULT_K
    batch_size: int = 64
    cache_dir: str | None = None
    runtime: str = "torch"

    def __post_init__(self):
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise ConfigError(f"baselines: expected a subset of {list(BASELINES)}, got unknown {unknown}")
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"runtime: expected one of {list(RUNTIMES)}, got '{self.runtime}'")
        if self.k < 1 or self.batch_size < 1:
            raise ConfigError(f"expected k >= 1 and batch_size >= 1, got k={self.k}, batch_size={self.batch_size}")


def load_pairs_split(pairs_path: str | Path, split: str):
    """(all pairs, the rows of `split`) from a pairs file (core/data/pairs.py read_pairs)."""
    pairs = read_pairs(pairs_path)
    held_out = pairs[pairs["split"] == split].reset_index(drop=True)
    if held_out.empty:
        raise SchemaError(f"pairs: expected rows with split '{split}', found splits "
                          f"{sorted(pairs['split'].unique().tolist())}")
    return pairs, held_out


def _model_scorer(model_dir: str | Path, config: EvaluationConfig) -> tuple[Callable, str]:
    """The scorer of the model in model_dir, and the runtime it scores with (torch names its precision)."""
    from shoprank.core.ranking.reranker import OnnxReranker, Reranker

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ConfigError(f"expected a model folder (with hf/ inside) at {model_dir}, found none")
    if config.runtime == "torch":
        reranker = Reranker.load(model_dir)
        runtime = f"torch {'bf16' if reranker.use_bf16 else 'fp32'} ({reranker.device})"
    else:
        reranker = OnnxReranker.load(model_dir, quantized=config.runtime == "onnx-int8")
        runtime = config.runtime

    def scorer(frame):
        # The structured path serving takes too (score_candidates): the pairs' fields in the model's format.
        return reranker.score(frame, config.batch_size)

    return scorer, runtime


def _baseline_scorer(name: str, config: EvaluationConfig, pairs) -> Callable:
    if name == "bm25":
        from shoprank.core.ranking.bm25 import bm25_scores

        # BM25's IDF comes from every judged product, not only the held-out candidates.
        by_row = dict(zip(zip(pairs["query_id"], pairs["product_id"]), bm25_scores(pairs)))
        return lambda frame: [by_row[key] for key in zip(frame["query_id"], frame["product_id"])]
    from shoprank.core.ranking import baselines

    if name == "zeroshot":
        return lambda frame: baselines.zeroshot_scores(
            frame["query"].tolist(), frame["product_text"].tolist(), config.batch_size, config.cache_dir)
    return lambda frame: baselines.msmarco_scores(
        frame["query"].tolist(), frame["product_text"].tolist(), config.batch_size)


def run_evaluate_stage(
    pairs_path: str | Path,
    model_dir: str | Path,
    evaluation_path: str | Path,
    report_path: str | Path,
    gate: GateConfig = GateConfig(),
    config: EvaluationConfig = EvaluationConfig(),
    champion_dir: str | Path | None = None,
    sessions_path: str | Path | None = None,
) -> dict:
    """Evaluate the model in `model_dir` (and the champion, if given) against the baselines.

    Writes the result as JSON to `evaluation_path` and the HTML page to `report_path`;
    returns the result dict (keys: rankers, versus, shipped, blessed, reason, checks, blend, ...).
    Every candidate of the folder ("model", and "hybrid" when it holds a blend) is scored like the
    baselines; the gate judges `shipped` (chosen on validation when the blend was fitted) against
    every baseline and the champion (core/evaluation/gate_rule.py).
    sessions_path: the prepare stage's sessions file; when its held-out split has sessions, the
    result gains a `sessions` key and the page its section (core/evaluation/session_report.py).
    """
    from shoprank.core.evaluation.report import render_evaluation_report

    log.info("evaluate: split=%s baselines=%s gate=%s champion=%s",
             config.split, list(config.baselines), dataclasses.asdict(gate), bool(champion_dir))
    pairs, held_out = load_pairs_split(pairs_path, config.split)
    model_scorer, runtime = _model_scorer(model_dir, config)
    # "model", and "hybrid" when the folder holds a blend; `shipped` was chosen on validation (evaluation/shipped.py).
    scorers, shipped, blend = candidate_scorers(model_scorer, model_dir, config.cache_dir)
    candidates = list(scorers)
    log.info("evaluate: scoring the models with %s; candidates %s, shipped %s", runtime, candidates, shipped)
    if champion_dir:
        scorers[CHAMPION], _ = _model_scorer(champion_dir, config)
    for name in config.baselines:
        scorers[name] = _baseline_scorer(name, config, pairs)
    scored = score_rankers(held_out, scorers)
    # The relevance threshold of the whole data set: a split without label 2 or 3 stays graded.
    result, comparison = evaluate(scored, list(scorers), gate, k=config.k, relevant=relevant_label(pairs["label"]),
                                  candidate=shipped, opponents=[name for name in scorers if name not in candidates])
    if blend is not None:
        result["blend"] = blend
    result["split"] = config.split
    result["pairs"] = int(len(held_out))
    result["runtime"] = runtime
    # The shipped ranker scores the sessions as serving would (one session's results = one request).
    sessions = _session_result(sessions_path, model_dir, scorers[shipped], config)
    if sessions:
        result["sessions"] = sessions
    query_text = dict(zip(held_out["query_id"], held_out["query"]))
    for path, text in (
        (evaluation_path, json.dumps(result, indent=2, sort_keys=True)),
        (report_path, render_evaluation_report(result, comparison.per_query, query_text)),
    ):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    return result


def _session_result(sessions_path, model_dir, scorer: Callable, config: EvaluationConfig) -> dict | None:
    """The held-out sessions' metrics (core/evaluation/session_report.py), or None without sessions."""
    from shoprank.core.evaluation.session_report import evaluate_sessions
    from shoprank.core.ranking.artifact import HF_SUBDIR
    from shoprank.core.stages.sessions import read_sessions
    from shoprank.core.text.pair_format import PairFormat

    sessions = read_sessions(sessions_path)
    if sessions is None:
        return None
    reads_history = bool(PairFormat.stored(Path(model_dir) / HF_SUBDIR).shopper_history)
    return evaluate_sessions(sessions, scorer, reads_history, split=config.split, k=config.k)


def flat_metrics(result: dict) -> dict[str, float]:
    """`<ranker>_<split>_<metric>` for every defined value (a metric no query defines is left out,
    its query counts say why), `versus_<opponent>_<delta|p_value|ci_low|ci_high>` of the shipped
    model's paired tests (where defined), plus `blessed` as 1.0 / 0.0 (for Output[Metrics]).

    The split in the name matches the baseline stage's metrics, so one reader handles both.
    """
    flat = {f"{ranker}_{result['split']}_{name}": float(value)
            for ranker, values in result["rankers"].items() for name, value in values.items() if value is not None}
    for opponent, test in result.get("versus", {}).items():
        flat.update({f"versus_{opponent}_{key}": float(test[key]) for key in ("delta", "p_value", "ci_low", "ci_high")
                     if test.get(key) is not None})
    flat["blessed"] = float(result["blessed"])
    # Held-out sessions (core/evaluation/session_report.py): sessions_<ranker>_<outcome>_<group>_<ndcg10|mrr>.
    for ranker, values in (result.get("sessions") or {}).get("rankers", {}).items():
        flat.update({f"sessions_{ranker}_{key}_{name.replace('@', '')}": float(value) for key, metric in values.items()
                     for name, value in metric.items() if name != "sessions" and value is not None})
    return flat
