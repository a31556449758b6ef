"""The search space, the search settings and the value policy re-applied: bad input fails before any trial."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shoprank.core.common.errors import ConfigError, DataValidationError, SchemaError
from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.search import run_search, trial_pairs
from shoprank.core.tuning.settings import TuneSettings
from shoprank.core.tuning.space import DEFAULT_SPACE, SearchSpace, split_params
from shoprank.core.tuning.trainable import trial_config
from shoprank.core.valuation.reapply import ValuePolicyChoice, reapply_policy
from support.tiny_model import toy_pairs


def test_the_default_space_is_valid_and_holds_the_train_defaults():
    space = SearchSpace.from_dict(DEFAULT_SPACE)
    point = space.point_of(TrainConfig())
    assert point is not None and space.contains(point)
    assert point["value_policy"] == "as_valued" and point["lr"] == TrainConfig().lr
    overrides, policy = split_params(point)
    assert set(overrides) <= set(TrainConfig().to_dict()) and policy.policy == "as_valued"
    assert space.to_dict() == DEFAULT_SPACE


@pytest.mark.parametrize("space, message", [
    ({}, "expected at least one dimension, got an empty space"),
    ([1, 2], "expected a JSON object of dimensions, got list"),
    ({"learning_rate": {"type": "uniform", "low": 0.1, "high": 0.2}}, "unknown dimension 'learning_rate'"),
    ({"seed": {"type": "choice", "values": [0, 1]}}, "unknown dimension 'seed'"),
    ({"lr": {"type": "normal", "low": 0.1, "high": 0.2}}, "lr needs {\"type\": one of"),
    ({"lr": {"type": "uniform", "low": 0.2, "high": 0.1}}, "needs finite numbers low < high"),
    ({"lr": {"type": "loguniform", "low": 0.0, "high": 0.1}}, "loguniform needs low > 0"),
    ({"lr": {"type": "uniform", "low": 1e-4, "high": 1e-3, "step": 1}}, "got also ['step']"),
    ({"loss": {"type": "choice", "values": []}}, "needs a non-empty list of values"),
    ({"batch_size": {"type": "uniform", "low": 16, "high": 64}}, "batch_size is an integer"),
    ({"loss": {"type": "uniform", "low": 0, "high": 1}}, "loss is a str"),
    ({"lr": {"type": "choice", "values": ["fast"]}}, "lr expects float values, got 'fast'"),
    # Values outside what TrainConfig (or the value policy) accepts: named before any trial.
    ({"lr": {"type": "uniform", "low": -1e-3, "high": 1e-3}}, "lr=-0.001 is outside what training accepts"),
    ({"loss": {"type": "choice", "values": ["listwise", "hinge"]}}, "loss='hinge' is outside what training accepts"),
    ({"warmup_ratio": {"type": "uniform", "low": 0.0, "high": 1.0}}, "warmup_ratio=1.0 is outside"),
    ({"batch_size": {"type": "int", "low": 0, "high": 64}}, "batch_size=0 is outside what training accepts"),
    ({"layer_lr_decay": {"type": "uniform", "low": 0.5, "high": 1.5}}, "layer_lr_decay=1.5 is outside"),
    ({"value_share": {"type": "uniform", "low": 0.1, "high": 1.0}}, "value_share=1.0 is outside"),
    ({"value_policy": {"type": "choice", "values": ["drop", "shapley"]}}, "value_policy='shapley' is outside"),
])
def test_a_bad_space_is_refused_naming_the_dimension(space, message):
    with pytest.raises(ConfigError) as err:
        SearchSpace.from_dict(space)
    assert message in str(err.value)


def test_a_space_json_that_is_not_json_is_refused():
    with pytest.raises(ConfigError, match="expected a JSON object"):
        SearchSpace.from_json("{lr: 1}")


def test_epochs_and_steps_can_be_searched_and_bound_the_trial():
    space = SearchSpace.from_dict({"epochs": {"type": "int", "low": 1, "high": 3},
                                   "max_steps": {"type": "choice", "values": [20, 40]}})
    assert space.contains({"epochs": 2, "max_steps": 40}) and not space.contains({"epochs": 4, "max_steps": 40})
    config = trial_config(TrainConfig(), {"epochs": 2, "max_steps": 40}, TuneSettings())
    assert (config.epochs, config.max_steps, config.max_pairs, config.patience) == (2, 40, 2400, 0)
    config = trial_config(TrainConfig(max_steps=999, max_minutes=5), {"lr": 1e-4}, TuneSettings(max_steps=30))
    assert (config.lr, config.max_steps, config.max_minutes, config.eval_every) == (1e-4, 30, None, 10)


@pytest.mark.parametrize("fields, message", [
    (dict(trials=0), "trials must be >= 1"),
    (dict(minutes=0), "minutes must be > 0"),
    (dict(grace_steps=40, max_steps=30), "need eval_every <= grace_steps <= max_steps"),
    (dict(scheduler="pbt"), "scheduler must be one of"),
    (dict(reduction_factor=1), "reduction_factor must be > 1"),
    (dict(max_pairs=0), "max_pairs must be >= 1 or None"),
    (dict(minutes="2"), "minutes must be a finite number, got '2'"),
    (dict(minutes=float("inf")), "minutes must be a finite number, got inf"),
    (dict(trials=2.5), "trials must be int, got 2.5"),
    (dict(trials=True), "trials must be int, got True"),
    (dict(gpus_per_trial="half"), "gpus_per_trial must be a finite number, got 'half'"),
    (dict(max_pairs="x"), "max_pairs must be int or None, got 'x'"),
])
def test_bad_settings_are_refused(fields, message):
    with pytest.raises(ConfigError, match=message):
        TuneSettings(**fields)


def _valued(pairs):
    train = pairs["split"] == "train"
    return pairs.assign(value=np.where(train, np.arange(len(pairs), dtype=float), np.nan), weight=1.0)


def test_reapplying_a_policy_reweights_train_rows_by_value_only():
    pairs = _valued(toy_pairs(n_queries=10, per_query=4, validation_queries=2))
    train = (pairs["split"] == "train").to_numpy()
    dropped = reapply_policy(pairs, ValuePolicyChoice("drop", share=0.25))
    assert len(dropped) == len(pairs) and (dropped.loc[~train, "weight"] == 1).all()
    zero = dropped["weight"] == 0
    assert zero.sum() == 8 and set(dropped.loc[zero, "value"]) == set(range(8))  # the 8 lowest values
    weighted = reapply_policy(pairs, ValuePolicyChoice("weight", share=0.25, floor=0.2))
    assert weighted["weight"].min() == pytest.approx(0.2) and (weighted.loc[train, "weight"] < 1).sum() == 8
    assert reapply_policy(pairs, ValuePolicyChoice("as_valued")) is pairs
    assert ValuePolicyChoice("drop", share=0.2).to_dict() == {"value_policy": "drop", "value_share": 0.2}
    with pytest.raises(SchemaError, match="expected a `value` column"):
        reapply_policy(pairs.drop(columns="value"), ValuePolicyChoice("drop", share=0.2))


def test_bad_pairs_fail_before_ray_starts(tmp_path):
    import ray

    space = SearchSpace.from_dict(DEFAULT_SPACE)
    pairs = _valued(toy_pairs(n_queries=10, per_query=4, validation_queries=2))
    with pytest.raises(DataValidationError, match="scored on 'validation' rows"):
        run_search(pairs[pairs["split"] == "train"], tmp_path, space, TuneSettings())
    with pytest.raises(SchemaError, match="re-applies value policies \\['drop', 'weight'\\]"):
        run_search(pairs.drop(columns="value"), tmp_path, space, TuneSettings())
    with pytest.raises(ConfigError, match="outside what training accepts"):
        run_search(pairs, tmp_path, {"dropout": {"type": "uniform", "low": 0.0, "high": 1.0}}, TuneSettings())
    assert not ray.is_initialized() and not list(tmp_path.iterdir())


def test_trials_see_train_rows_and_a_seeded_subset_of_validation_queries_never_test():
    pairs = pd.concat([toy_pairs(n_queries=30, per_query=3, validation_queries=10),
                       toy_pairs(n_queries=2, per_query=3, validation_queries=0).assign(split="test", query_id="t")])
    space = SearchSpace.from_dict({"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-3}})
    frame = trial_pairs(pairs, space, TuneSettings(validation_queries=4, seed=1))
    assert set(frame["split"]) == {"train", "validation"}
    assert frame.loc[frame["split"] == "validation", "query_id"].nunique() == 4
    again = trial_pairs(pairs, space, TuneSettings(validation_queries=4, seed=1))
    assert frame.equals(again)
