"""baseline: BM25 ranking quality on held-out queries, the floor every model must beat."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def evaluate_baseline(pairs: Input[Dataset], metrics: Output[Metrics], k1: float = 1.5, b: float = 0.75):
    """NDCG@10, MRR and Recall@10 of BM25 (bm25s) on the validation and test splits, with the
    query counts behind each mean (queries left out of a metric are counted, never scored)."""
    from shoprank.components.outputs import log_metrics
    from shoprank.core.stages.baseline import evaluate_bm25
    from shoprank.core.ranking.bm25 import BM25Config

    log_metrics(metrics, evaluate_bm25(pairs.path, BM25Config(k1=k1, b=b)))
