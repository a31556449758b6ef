"""kfp parameter adapters: the sentinels pipelines pass become the values core takes."""

import json

import pytest

from shoprank.components import params
from shoprank.core.common.errors import ConfigError
from shoprank.core.evaluation.gate import GateConfig


@pytest.mark.parametrize("value, expected", [(0, None), (0.0, None), ("", None), (None, None), (3, 3), (0.5, 0.5),
                                             ("dir", "dir"), (False, False), (True, True)])
def test_unset_sentinels_become_none_and_switches_stay(value, expected):
    assert params.none_if_unset(value) is expected or params.none_if_unset(value) == expected


def test_train_config_reads_zero_as_no_budget_and_overrides_win():
    config = params.train_config(max_length=0, max_steps=0, max_minutes=0.0, max_pairs=0, init_model_dir="",
                                 epochs=2, spelling_notes=False)
    assert (config.max_length, config.max_steps, config.max_minutes, config.max_pairs, config.init_model_dir) == (
        None, None, None, None, None)
    assert config.epochs == 2 and config.spelling_notes is False and config.price_limits is True
    assert params.train_config(max_length=96).max_length == 96
    tuned = params.train_config(overrides_json=json.dumps({"lr": 1e-4, "max_steps": None}), lr=2e-4, max_steps=50)
    assert tuned.lr == 1e-4 and tuned.max_steps is None
    for bad in ("[1, 2]", "{not json"):
        with pytest.raises(ConfigError, match="overrides_json .*expected a JSON object"):
            params.train_config(overrides_json=bad)
    with pytest.raises(ConfigError, match="unknown TrainConfig fields \\['price_verdicts'\\]"):
        params.train_config(overrides_json='{"price_verdicts": false}')


def test_value_stage_config():
    config = params.value_stage_config("data_oob", 5, "drop", 0.2, -1.0, 3, "")
    assert config.valuation.policy.fraction is None and config.features.cache_dir is None
    assert config.valuation.oob.seed == config.valuation.confident.seed == config.seed == 3
    assert params.value_stage_config("knn_shapley", 5, "weight", 0.1, 0.25, 0, "cache").features.cache_dir == "cache"
    assert params.value_stage_config("knn_shapley", 5, "weight", 0.1, 0.25, 0, "").valuation.policy.fraction == 0.25


def test_gate_sentinels_mean_not_configured():
    assert params.gate_config(-1.0, -1.0) == GateConfig()
    assert params.gate_config(0.0, -0.005) == GateConfig(min_ndcg=0.0, min_gain_over_champion=-0.005)
    assert params.gate_config(-1.0, -1.0, margin=0.02, min_queries=5) == GateConfig(margin=0.02, min_queries=5)


def test_evaluation_config_reads_comma_separated_baselines():
    config = params.evaluation_config("test", " bm25, msmarco ,", "onnx", "")
    assert config.baselines == ("bm25", "msmarco") and config.runtime == "onnx" and config.cache_dir is None
    assert params.evaluation_config("validation", "", "torch", "c").baselines == ()


def test_tune_settings_read_zero_trials_as_no_search_and_zero_as_all():
    assert params.tune_settings(trials=0, minutes=4.0, seed=0) is None
    settings = params.tune_settings(trials=3, minutes=1.5, seed=2, max_pairs=0, validation_queries=0, ray_address="",
                                    scheduler="fifo")
    assert (settings.trials, settings.minutes, settings.seed, settings.scheduler) == (3, 1.5, 2, "fifo")
    assert settings.max_pairs is None and settings.validation_queries is None and settings.ray_address is None
    with pytest.raises(ConfigError, match=r"expected trials 0 \(no search\) or >= 1, got -1"):
        params.tune_settings(trials=-1, minutes=4.0, seed=0)
    with pytest.raises(ConfigError, match=r"minutes must be > 0"):
        params.tune_settings(trials=2, minutes=0.0, seed=0)
