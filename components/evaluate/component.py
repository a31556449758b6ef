"""kfp component `evaluate_reranker`: a thin body around shoprank.core.stages.evaluate."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Model, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def evaluate_reranker(
    pairs: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    report: Output[HTML],
    evaluation: Output[Artifact],
    champion: Input[Model] = None,
    sessions: Input[Dataset] = None,
    champion_model_uri: str = "",
    min_ndcg: float = -1.0,
    min_gain_over_champion: float = -1.0,
    split: str = "test",
    baselines: str = "bm25,zeroshot,msmarco",
    runtime: str = "torch",
    embedding_cache_dir: str = "",
    beat_baselines: bool = True,
    margin: float = 0.01,
    min_queries: int = 15,
    alpha: float = 0.05,
    require_significance: bool = False,
    seed: int = 0,
) -> NamedTuple("EvaluateOutputs", [("blessed", bool)]):
    """Score the held-out split with the new model, BM25, the zero-shot encoder, the MS MARCO
    cross-encoder and the champion (if any); bless the model only when it beats them all.

    pairs: the pairs table (Parquet) with a `split` column. model: the trained model folder.
    champion / champion_model_uri: the current champion's model folder, as an artifact or as a
    local path; leave both empty when there is none. sessions: the prepare stage's search sessions;
    their held-out split adds the `sessions` metrics (bought / clicked NDCG@10 and MRR of the
    personalised and plain model and BM25, core/evaluation/session_report.py).
    min_ndcg: floor on the new model's NDCG@10; negative means not configured.
    min_gain_over_champion: required NDCG@10 gain over the champion (may be slightly negative
    to tolerate a regression); -1 or less means not configured.
    split: the held-out split to score. baselines: comma-separated subset of bm25, zeroshot, msmarco.
    runtime: score the model (and champion) with "torch", "onnx" or "onnx-int8" (what is served).
    embedding_cache_dir: the encoder cache the value stage filled ("" = none), so the zero-shot
    baseline reuses its embeddings.
    beat_baselines: the model must beat every baseline and the champion by `margin` mean gain
    on NDCG@10 (default on). min_queries: fewest held-out queries to judge on. alpha: level of
    the paired randomisation tests (confidence intervals at 1 - alpha); require_significance:
    also require p < alpha for each gain. seed: seeds the tests. (core/evaluation/gate_rule.py)
    With nothing to beat and no threshold configured the model is never blessed. Returns `blessed`.
    """
    from collections import namedtuple

    from shoprank.components.outputs import html_path, log_metrics
    from shoprank.components.params import evaluation_config, gate_config, none_if_unset
    from shoprank.core.stages.evaluate import flat_metrics, run_evaluate_stage

    config = evaluation_config(split=split, baselines=baselines, runtime=runtime,
                               embedding_cache_dir=embedding_cache_dir)
    result = run_evaluate_stage(
        pairs.path, model.path, evaluation.path, html_path(report),
        gate=gate_config(min_ndcg, min_gain_over_champion, beat_baselines=beat_baselines, margin=margin,
                         min_queries=min_queries, alpha=alpha, require_significance=require_significance,
                         seed=seed), config=config,
        champion_dir=champion.path if champion is not None else none_if_unset(champion_model_uri),
        sessions_path=sessions.path if sessions is not None else None,
    )
    log_metrics(metrics, flat_metrics(result))
    evaluation.metadata.update({"blessed": result["blessed"], "reason": result["reason"],
                                "shipped": result["shipped"], "versus": result["versus"]})
    return namedtuple("EvaluateOutputs", ["blessed"])(result["blessed"])
