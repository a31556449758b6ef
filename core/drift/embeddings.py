"""Query-text drift through embeddings of the pretrained encoder (all-MiniLM-L6-v2; core/ranking/encoder.py).

Methods, both Evidently's (evidently.metrics.embeddings), called on the two windows' embeddings:
    classifier  a logistic model (SGD) learns to tell reference from current embeddings on half
                of them and is scored by ROC AUC on the other half (the classifier two-sample
                test; Lopez-Paz & Oquab, 2017). With no drift the held-out AUC behaves like the
                Mann-Whitney statistic of random scores: mean 0.5, variance
                (n1 + n2 + 1) / (12 n1 n2) for n1, n2 held-out rows per window (Hanley &
                McNeil, 1982). The threshold is the AUC chance exceeds with probability alpha
                (normal approximation), so the test has the family's per-signal level.
    mmd         maximum mean discrepancy (Gretton et al., 2012) with Evidently's bootstrap; its
                level is approximate (100 bootstrap draws).
Evidently's EmbeddingsDrift metric would add a t-SNE picture costing about a minute for 2,000
queries; the page shows a PCA projection instead.
"""

from __future__ import annotations

import logging
import math

import numpy as np

log = logging.getLogger(__name__)


def sample_queries(units, max_queries: int, seed: int, stream: int) -> list[str]:
    """At most max_queries distinct query texts of a window's units (one per distinct query already)."""
    rng = np.random.default_rng([seed, 51, stream])
    texts = units["query_norm"].to_numpy(dtype=object)
    return [str(t) for t in texts[np.sort(rng.permutation(len(texts))[:max_queries])]]


def classifier_threshold(n_reference: int, n_current: int, alpha: float) -> float:
    """The held-out ROC AUC that two same-distribution samples exceed with probability alpha.

    Half of each window is held out (Evidently's split), so n1 = n_reference / 2, n2 = n_current / 2.
    """
    from scipy.stats import norm

    n1, n2 = max(n_reference / 2, 1.0), max(n_current / 2, 1.0)
    sd = math.sqrt((n1 + n2 + 1) / (12 * n1 * n2))
    return 0.5 + float(norm.isf(alpha)) * sd


def classifier_p_value(auc: float, n_reference: int, n_current: int) -> float:
    """One-sided p-value of a held-out AUC under no drift (normal approximation, as above)."""
    from scipy.stats import norm

    n1, n2 = max(n_reference / 2, 1.0), max(n_current / 2, 1.0)
    return float(norm.sf((auc - 0.5) / math.sqrt((n1 + n2 + 1) / (12 * n1 * n2))))


def embedding_drift(reference: np.ndarray, current: np.ndarray, method: str, alpha: float,
                    threshold: float | None = None) -> dict:
    """Test (n, d) reference embeddings against (m, d) current ones with an Evidently drift method.

    method: "classifier" or "mmd". alpha: the signal's level (family_alpha / m). threshold: an
    explicit AUC (classifier) or MMD threshold instead of the level-derived one.
    Returns {score, drifted, threshold, p_value (classifier only), method}.
    """
    import pandas as pd
    from evidently.metrics.embeddings import MMDDriftMethod, ModelDriftMethod

    columns = [f"e{i}" for i in range(reference.shape[1])]
    ref = pd.DataFrame(reference, columns=columns)
    cur = pd.DataFrame(current, columns=columns)
    if method == "classifier":
        threshold = threshold if threshold is not None else classifier_threshold(len(ref), len(cur), alpha)
        score, drifted, _ = ModelDriftMethod(threshold=threshold)(cur, ref)
        return {"score": float(score), "drifted": bool(drifted), "threshold": float(threshold), "method": method,
                "p_value": classifier_p_value(float(score), len(ref), len(cur))}
    if threshold is not None:
        score, drifted, _ = MMDDriftMethod(threshold=threshold)(cur, ref)
    else:
        score, drifted, _ = MMDDriftMethod(bootstrap=True, quantile_probability=1 - alpha)(cur, ref)
    return {"score": float(score), "drifted": bool(drifted), "threshold": threshold, "method": method, "p_value": None}


def projection_figure(reference: np.ndarray, current: np.ndarray) -> str:
    """An inline PNG: both windows' embeddings on the reference's first two principal components."""
    from sklearn.decomposition import PCA

    from shoprank.core.common.html_page import figure_png, new_figure

    pca = PCA(n_components=2, random_state=0).fit(reference)
    ref2, cur2 = pca.transform(reference), pca.transform(current)
    fig, ax = new_figure(5.0, 3.6)
    ax.scatter(ref2[:, 0], ref2[:, 1], s=6, alpha=0.35, color="#57606a", label=f"reference ({len(ref2)})")
    ax.scatter(cur2[:, 0], cur2[:, 1], s=6, alpha=0.35, color="#d1242f", label=f"current ({len(cur2)})")
    ax.set_xlabel("principal component 1 (reference)")
    ax.set_ylabel("component 2")
    ax.legend(loc="best", fontsize=8, markerscale=2)
    ax.set_title("query embeddings", fontsize=10)
    return figure_png(fig)
