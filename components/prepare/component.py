"""prepare: validated tables -> judged pairs with query-level train/validation/test splits."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def prepare_pairs(
    validated_data: Input[Dataset],
    pairs: Output[Dataset],
    metrics: Output[Metrics],
    sessions: Output[Dataset],
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    split_seed: int = 0,
    clicks_policy: str = "both",
):
    """Join judgments with query and product text; split by query so no query is in two splits.

    clicks_policy: "human", "clicks" or "both" (default): which labels come from the interactions
    table, when there is one (core/clicks/policy.py). sessions: the log's search sessions with
    shopper histories (core/stages/sessions.py; no rows without an interactions table)."""
    from shoprank.components.outputs import log_metrics
    from shoprank.core.data.pairs import PAIRS_SCHEMA
    from shoprank.core.data.split import SplitConfig
    from shoprank.core.stages.prepare import prepare_pairs as run_prepare

    config = SplitConfig(validation_fraction=validation_fraction, test_fraction=test_fraction, seed=split_seed)
    result = run_prepare(validated_data.path, pairs.path, config, clicks_policy, sessions_path=sessions.path)
    pairs.metadata["shoprank_schema"] = PAIRS_SCHEMA
    log_metrics(metrics, result)
