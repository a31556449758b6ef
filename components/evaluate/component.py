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
    champion_model_uri: str = "",
    min_ndcg: float = -1.0,
    min_gain_over_champion: float = -1.0,
    split: str = "test",
    baselines: str = "bm25,zeroshot,msmarco",
    runtime: str = "torch",
    embedding_cache_dir: str = "",
) -> NamedTuple("EvaluateOutputs", [("blessed", bool)]):
    """Score the held-out split with the new model, BM25, the zero-shot encoder, the MS MARCO
    cross-encoder and the champion (if any); bless the model only against configured thresholds.

    pairs: the pairs table (Parquet) with a `split` column. model: the trained model folder.
    champion / champion_model_uri: the current champion's model folder, as an artifact or as a
    local path; leave both empty when there is none.
    min_ndcg: floor on the new model's NDCG@10; negative means not configured.
    min_gain_over_champion: required NDCG@10 gain over the champion (may be slightly negative
    to tolerate a regression); -1 or less means not configured.
    split: the held-out split to score. baselines: comma-separated subset of bm25, zeroshot, msmarco.
    runtime: score the model (and champion) with "torch", "onnx" or "onnx-int8" (what is served).
    embedding_cache_dir: the encoder cache the value stage filled ("" = none), so the zero-shot
    baseline reuses its embeddings.
    With no threshold configured the model is never blessed. Returns `blessed`.
    """
    from collections import namedtuple

    from shoprank.components.outputs import html_path, log_metrics
    from shoprank.components.params import evaluation_config, gate_config, none_if_unset
    from shoprank.core.stages.evaluate import flat_metrics, run_evaluate_stage

    config = evaluation_config(split=split, baselines=baselines, runtime=runtime,
                               embedding_cache_dir=embedding_cache_dir)
    result = run_evaluate_stage(
        pairs.path, model.path, evaluation.path, html_path(report),
        gate=gate_config(min_ndcg, min_gain_over_champion), config=config,
        champion_dir=champion.path if champion is not None else none_if_unset(champion_model_uri),
    )
    log_metrics(metrics, flat_metrics(result))
    evaluation.metadata.update({"blessed": result["blessed"], "reason": result["reason"]})
    return namedtuple("EvaluateOutputs", ["blessed"])(result["blessed"])
