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
    max_length: int = 64,
    price_limits: bool = True,
    low_price_words: bool = True,
    spelling_notes: bool = True,
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
    config). loss / epochs / seed / max_length / price_limits / low_price_words / spelling_notes: the
    train component's own values, under each trial (max_length 0 = fitted to the pairs). space_json:
    the search space as JSON ("" = the default space; core/tuning/space.py). max_pairs /
    validation_queries: 0 = all. ray_address: an existing Ray cluster ("" = RAY_ADDRESS, else a
    local Ray on the task's cores). search_dir: a persistent path or URI (s3://...) for the
    search's state, so a retried task resumes it; "" = the search output. init_model_dir: the
    model every trial starts from, as in the train component ("" = the packaged all-MiniLM-L6-v2).
    """
    import collections

    from shoprank.components.outputs import html_path, log_metrics
    from shoprank.components.params import train_config, tune_settings
    from shoprank.core.stages.tune import run_tune_stage

    settings = tune_settings(trials=trials, minutes=minutes, seed=seed, max_pairs=max_pairs,
                             validation_queries=validation_queries, ray_address=ray_address, scheduler=scheduler,
                             max_steps=max_steps, grace_steps=grace_steps, eval_every=eval_every,
                             cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial, max_failures=max_failures)
    base = train_config(loss=loss, epochs=epochs, seed=seed, max_length=max_length, price_limits=price_limits,
                        low_price_words=low_price_words, spelling_notes=spelling_notes, init_model_dir=init_model_dir)
    result = run_tune_stage(pairs.path, best_config.path, tuned_pairs.path, html_path(report),
                            search_dir or search.path, settings=settings, space_json=space_json, base=base)
    log_metrics(metrics, result)
    with open(best_config.path) as handle:
        best_config_json = handle.read()
    best_config.metadata["best_config"] = best_config_json
    outputs = collections.namedtuple("TuneOutputs", ["best_config_json"])
    return outputs(best_config_json)
