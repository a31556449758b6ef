"""A two-sample chi-square test of homogeneity, registered with Evidently as "chisquare_2sample".

Evidently's own "chisquare" is a goodness-of-fit test: it takes the reference's frequencies as
the truth and ignores that the reference is a sample too, so with two windows of similar size
its statistic is about twice what chance gives and it calls drift far more often than its
threshold says. This test compares the two windows' counts in one contingency table
(scipy.stats.chi2_contingency; Pearson, 1900), which accounts for the noise in both.

Importing this module registers the test; core/drift/report.py imports it before it runs Evidently.
"""

from __future__ import annotations

import numpy as np

NAME = "chisquare_2sample"


def chisquare_2sample(reference, current) -> float:
    """p-value of the chi-square test that two samples of categories share one distribution.

    reference, current: pandas Series of category labels (missing values are ignored).
    Categories absent from both are dropped; one category in all => p = 1.
    """
    import pandas as pd
    from scipy.stats import chi2_contingency

    counts = pd.concat([reference.dropna().value_counts().rename("reference"),
                        current.dropna().value_counts().rename("current")], axis=1).fillna(0)
    counts = counts[(counts.sum(axis=1) > 0)]
    if len(counts) < 2 or (counts.sum(axis=0) == 0).any():
        return 1.0
    return float(chi2_contingency(counts.to_numpy(dtype=np.float64).T, correction=False).pvalue)


def register() -> None:
    """Register the test with Evidently (idempotent)."""
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    def _impl(reference_data, current_data, feature_type, threshold):
        p_value = chisquare_2sample(reference_data, current_data)
        return p_value, p_value < threshold

    register_stattest(
        StatTest(name=NAME, display_name="chi-square (2 samples) p_value", allowed_feature_types=[ColumnType.Categorical],
                 default_threshold=0.05),
        default_impl=_impl,
    )


register()
