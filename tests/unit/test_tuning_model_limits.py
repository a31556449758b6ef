"""Space values only the base model can refuse (more layers or positions than it has) fail before any trial."""

from __future__ import annotations

import json

import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.model_limits import check_space_fits_model, model_limits
from shoprank.core.tuning.search import run_search
from shoprank.core.tuning.settings import TuneSettings
from shoprank.core.tuning.space import SearchSpace
from support.tiny_model import toy_pairs


def test_the_packaged_encoder_has_7_freezable_stacks_and_512_positions():
    from shoprank.core.ranking.encoder import pretrained_model_dir

    assert model_limits(pretrained_model_dir()) == {"frozen_layers": 7, "max_length": 512}


@pytest.mark.parametrize("space", [
    {"frozen_layers": {"type": "int", "low": 0, "high": 7}},
    {"frozen_layers": {"type": "choice", "values": [0, 2, 7]}, "max_length": {"type": "choice", "values": [64, 512]}},
    {"lr": {"type": "loguniform", "low": 1e-5, "high": 1e-3}},
])
def test_a_space_within_the_model_passes(space):
    check_space_fits_model(SearchSpace.from_dict(space), TrainConfig())


@pytest.mark.parametrize("space, base, message", [
    ({"frozen_layers": {"type": "choice", "values": [0, 20]}}, {},
     "search space: frozen_layers=20 is more than the model at {dir} has (at most 7: the embeddings and 6 "
     "transformer layers)"),
    ({"frozen_layers": {"type": "int", "low": 0, "high": 8}}, {}, "search space: frozen_layers=8 is more"),
    ({"max_length": {"type": "choice", "values": [64, 1024]}}, {},
     "search space: max_length=1024 is more than the model at {dir} has (at most 512: its position embeddings)"),
    ({"lr": {"type": "loguniform", "low": 1e-5, "high": 1e-3}}, {"frozen_layers": 9},
     "base config: frozen_layers=9 is more than the model"),
])
def test_a_value_beyond_the_model_names_it_and_the_limit(space, base, message):
    from shoprank.core.ranking.encoder import pretrained_model_dir

    with pytest.raises(ConfigError) as err:
        check_space_fits_model(SearchSpace.from_dict(space), TrainConfig(**base))
    assert message.format(dir=pretrained_model_dir()) in str(err.value)


def test_the_limits_come_from_the_init_model_dir(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 2,
                                                      "max_position_embeddings": 128}))
    base = TrainConfig(init_model_dir=str(tmp_path))
    check_space_fits_model(SearchSpace.from_dict({"frozen_layers": {"type": "choice", "values": [0, 3]}}), base)
    with pytest.raises(ConfigError, match=r"frozen_layers=4 is more than the model at .* \(at most 3: the embeddings "
                                          r"and 2 transformer layers\)"):
        check_space_fits_model(SearchSpace.from_dict({"frozen_layers": {"type": "choice", "values": [0, 4]}}), base)


def test_an_init_model_dir_without_a_config_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"init_model_dir: expected a Hugging Face model folder with config.json at "
                                          + str(tmp_path / "missing")):
        check_space_fits_model(SearchSpace.from_dict({"lr": {"type": "uniform", "low": 1e-4, "high": 1e-3}}),
                               TrainConfig(init_model_dir=str(tmp_path / "missing")))


def test_run_search_refuses_it_before_ray_starts(tmp_path):
    import ray

    pairs = toy_pairs(n_queries=8, per_query=4, validation_queries=2)
    space = {"frozen_layers": {"type": "choice", "values": [0, 20]}}
    with pytest.raises(ConfigError, match="frozen_layers=20 is more than the model"):
        run_search(pairs, tmp_path / "search", space, TuneSettings(trials=2), TrainConfig(distill_teacher=None))
    assert not ray.is_initialized() and not (tmp_path / "search").exists()
