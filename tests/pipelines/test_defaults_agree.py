"""The pipeline and the CLI restate the components' defaults (kfp needs literals); they must agree."""

import inspect

import pytest

from shoprank.components.evaluate.component import evaluate_reranker
from shoprank.components.train.component import train_reranker
from shoprank.components.tune.component import tune_hyperparameters
from shoprank.components.value.component import value_data
from shoprank.pipelines import cli
from shoprank.pipelines.train_and_deploy import train_and_deploy

# pipeline / CLI parameter -> (component, its parameter)
MAPPING = {
    "value_method": (value_data, "method"),
    "value_policy": (value_data, "policy"),
    "train_loss": (train_reranker, "loss"),
    "train_epochs": (train_reranker, "epochs"),
    "train_max_steps": (train_reranker, "max_steps"),
    "train_max_minutes": (train_reranker, "max_minutes"),
    "tune_trials": (tune_hyperparameters, "trials"),
    "tune_minutes": (tune_hyperparameters, "minutes"),
    "train_max_length": (train_reranker, "max_length"),
    "price_limits": (train_reranker, "price_limits"),
    "low_price_words": (train_reranker, "low_price_words"),
    "spelling_notes": (train_reranker, "spelling_notes"),
    "blend": (train_reranker, "blend"),
    "min_ndcg": (evaluate_reranker, "min_ndcg"),
    "min_gain_over_champion": (evaluate_reranker, "min_gain_over_champion"),
    "baselines": (evaluate_reranker, "baselines"),
    "beat_baselines": (evaluate_reranker, "beat_baselines"),
    "gate_margin": (evaluate_reranker, "margin"),
    "gate_min_queries": (evaluate_reranker, "min_queries"),
    "gate_alpha": (evaluate_reranker, "alpha"),
    "require_significance": (evaluate_reranker, "require_significance"),
}


def _defaults(func) -> dict:
    return {name: p.default for name, p in inspect.signature(func).parameters.items()}


@pytest.mark.parametrize("name", sorted(MAPPING))
def test_pipeline_and_cli_defaults_equal_the_component_defaults(name):
    component, parameter = MAPPING[name]
    expected = _defaults(component.python_func)[parameter]
    assert _defaults(train_and_deploy.pipeline_func)[name] == expected
    assert _defaults(cli.run)[name].default == expected
