"""Space values that only the base model can refuse, checked before the first trial.

TrainConfig accepts any frozen_layers >= 0 and any max_length >= 1, but the encoder a trial
starts from has a fixed number of layers and position embeddings: frozen_layers above
1 + num_hidden_layers (the embeddings, then each transformer layer; core/training/model_io.py
freeze_lowest_layers) fails when a trial loads the model, and max_length above
max_position_embeddings indexes past the position table once a pair is that long. Both limits
are read from the model folder's config.json (Hugging Face `PretrainedConfig`), without
loading weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

from shoprank.core.common.errors import ConfigError
from shoprank.core.training.config import TrainConfig

log = logging.getLogger(__name__)

MODEL_CONFIG = "config.json"


def model_limits(model_dir: str | Path) -> dict[str, int]:
    """{"frozen_layers": most layers that can be frozen, "max_length": most tokens per pair} of the
    model in model_dir (only the limits its config states), read with transformers' AutoConfig as
    the trial's model loading reads it (core/training/model_io.py).

    Raises ConfigError naming the folder when it holds no readable model config.
    """
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(model_dir))
    except (OSError, ValueError) as err:
        raise ConfigError(f"tune: init_model_dir: expected a Hugging Face model folder with {MODEL_CONFIG} at "
                          f"{model_dir}, could not read it ({str(err)[:200]})") from None
    limits = {}
    layers, positions = getattr(config, "num_hidden_layers", None), getattr(config, "max_position_embeddings", None)
    if isinstance(layers, int):
        limits["frozen_layers"] = layers + 1  # the embeddings, then each layer
    if isinstance(positions, int):
        limits["max_length"] = positions
    return limits


def check_space_fits_model(space, base: TrainConfig) -> None:
    """ConfigError naming the value and the model's limit when the base config or any bound or
    choice of `space` (a SearchSpace) asks for more layers or tokens than the base model has.

    The model is base.init_model_dir, else the packaged all-MiniLM-L6-v2 (6 layers, 512 positions).
    """
    from shoprank.core.ranking.encoder import pretrained_model_dir

    model_dir = base.init_model_dir or pretrained_model_dir()
    limits = model_limits(model_dir)
    dims = {d.name: d for d in space.dimensions}
    for name, limit in limits.items():
        values = [v for v in dims[name].candidates() if v is not None] if name in dims \
            else [getattr(base, name)] if getattr(base, name) is not None else []
        where = "search space" if name in dims else "base config"
        for value in values:
            if value > limit:
                raise ConfigError(f"tune: {where}: {name}={value!r} is more than the model at {model_dir} has "
                                  f"(at most {limit}: {_meaning(name, limit)})")
    log.debug("tune: the space fits the model at %s (limits %s)", model_dir, limits)


def _meaning(name: str, limit: int) -> str:
    if name == "frozen_layers":
        return f"the embeddings and {limit - 1} transformer layers"
    return "its position embeddings"
