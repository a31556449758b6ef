"""value: score each training pair's data value and turn it into a sample weight (or a drop)."""

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def value_data(
    pairs: Input[Dataset],
    scored_pairs: Output[Dataset],
    metrics: Output[Metrics],
    report: Output[HTML],
    method: str = "knn_shapley",
    k: int = 10,
    policy: str = "weight",
    floor: float = 0.1,
    fraction: float = -1.0,
    seed: int = 0,
    embedding_cache_dir: str = "",
):
    """Value the train pairs (exact KNN-Shapley against the validation pairs, Data-OOB, or
    confident learning), write the pairs with `value`, `weight` and `label_issue` columns,
    log method / n / estimated noisy share / seconds, and render the HTML report.

    fraction < 0 lets the policy use the estimated noisy share; embedding_cache_dir "" = no cache.
    """
    from shoprank.components.outputs import html_path, log_metrics
    from shoprank.components.params import value_stage_config
    from shoprank.core.data.pairs import PAIRS_SCHEMA
    from shoprank.core.stages.value import run_value_stage

    config = value_stage_config(method=method, k=k, policy=policy, floor=floor, fraction=fraction, seed=seed,
                                embedding_cache_dir=embedding_cache_dir)
    result = run_value_stage(pairs.path, scored_pairs.path, html_path(report), config)
    scored_pairs.metadata["shoprank_schema"] = PAIRS_SCHEMA
    log_metrics(metrics, result)
