"""kfp component `tune_hyperparameters`: a thin body around shoprank.core.stages.tune."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def tune_hyperparameters(
    pairs: Input[Dataset],
    best_config: Output[Artifact],
    tuned_pairs: Output[Dataset],
    search: Output[Artifact],
    metrics: Output[Metrics],
    report: Output[HTML],
    trials: int = 8,
    minutes: float = 4.0,
    seed: int = 0,
    loss: str = "listwise",
    epochs: int = 3,
    space_json: str = "",
    scheduler: str = "asha",
    max_steps: int = 30,
    grace_steps: int = 10,
    eval_every: int = 10,
    max_pairs: int = 2400,
    validation_queries: int = 20,
    cpus_per_trial: int = 2,
    gpus_per_trial: float = 0.0,
    max_failures: int = 0,
    ray_address: str = "",
    search_dir: str = "",
    init_model_dir: str = "",
) -> NamedTuple("TuneOutputs", best_config_json=str):
    """Search training hyperparameters and the data-value policy with Ray Tune on the valued pairs.

    Each trial is a short fine-tune (at most max_steps steps on max_pairs training pairs, scored on
    validation_queries validation queries every eval_every steps); ASHA stops the trailing ones from
    grace_steps on. Outputs: best_config (JSON
    of TrainConfig fields; the same JSON is the best_config_json output, for the train component's
    overrides_json), tuned_pairs (the pairs weighted by the chosen value policy), search (Ray Tune's
    results), metrics and an HTML report.

    trials / minutes: budgets, whichever ends first; trials 0 turns tuning off (train keeps its
    config). loss / epochs / seed: the train component's own values, under each trial. space_json:
    the search space as JSON ("" = the default space; core/tuning/space.py). max_pairs /
    validation_queries: 0 = all. ray_address: an existing Ray cluster ("" = RAY_ADDRESS, else a
    local Ray on the task's cores). search_dir: a persistent path or URI (s3://...) for the
    search's state, so a retried task resumes it; "" = the search output. init_model_dir: the
    model every trial starts from, as in the train component ("" = the packaged all-MiniLM-L6-v2).
    """
    import collections

    from shoprank.core.stages.tune import run_tune_stage
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.tuning.settings import TuneSettings

    settings = None if trials == 0 else TuneSettings(
        trials=trials, minutes=minutes, seed=seed, scheduler=scheduler, max_steps=max_steps, grace_steps=grace_steps,
        eval_every=eval_every,        max_pairs=max_pairs or None, validation_queries=validation_queries or None, cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial, max_failures=max_failures, ray_address=ray_address or None)
    result = run_tune_stage(pairs.path, best_config.path, tuned_pairs.path, report.path, search_dir or search.path,
                            settings=settings, space_json=space_json,
                            base=TrainConfig(loss=loss, epochs=epochs, seed=seed, init_model_dir=init_model_dir or None))
    for name, value in result.items():
        metrics.log_metric(name, value)
    with open(best_config.path) as handle:
        best_config_json = handle.read()
    best_config.metadata["best_config"] = best_config_json
    outputs = collections.namedtuple("TuneOutputs", ["best_config_json"])
    return outputs(best_config_json)
