"""monitor_and_retrain: drift -> dsl.If(drifted) -> train_and_deploy (the same steps and gates, nested, not copied).

The retraining branch is the `train_and_deploy` pipeline itself, used as a component (kfp v2
runs a pipeline inside a pipeline as a sub-DAG), so every step and gate added to it
(validation, valuation, tuning, training, the evaluation gate, deploy, canary) applies here too.
Parameters of train_and_deploy that are not exposed below take its defaults.

The branch reads the drift task's single returned bool (kfp's `Output`): kfp.local 2.17.0 runs
nested pipelines and dsl.If, but resolves a condition only on a task's single output (or a
pipeline parameter); on a named output such as `drifted` it logs "Could not resolve parent
input" and skips the branch as if the condition were false.
"""

from kfp import dsl

from shoprank.components.drift.component import detect_drift
from shoprank.pipelines.train_and_deploy import train_and_deploy

PIPELINE_NAME = "shoprank-monitor-and-retrain"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="Compare recent traffic with a reference window (Evidently); when it drifted, retrain, gate and deploy.",
)
def monitor_and_retrain(
    reference_uri: str,
    current_uri: str,
    data_uri: str,
    drift_config_json: str = "",
    drift_seed: int = 0,
    family_alpha: float = 0.01,
    max_units: int = 5000,
    embeddings: bool = True,
    pushgateway_url: str = "",
    model_name: str = "shoprank",
    seed: int = 0,
    train_epochs: int = 3,
    train_max_steps: int = 0,
    train_max_minutes: float = 0.0,
    tune_trials: int = 8,
    tune_minutes: float = 4.0,
    min_ndcg: float = -1.0,
    min_gain_over_champion: float = -1.0,
    beat_baselines: bool = True,
    gate_margin: float = 0.01,
    gate_min_queries: int = 15,
    gate_alpha: float = 0.05,
    require_significance: bool = False,
    champion_model_uri: str = "",
    baselines: str = "bm25,zeroshot,msmarco",
    embedding_cache_dir: str = "",
):
    """reference_uri / current_uri: the two windows of traffic (folders with the interactions
    table, optionally products, queries and the request log). data_uri: the contract tables to
    retrain on when the current window drifted (often the current window itself).
    drift_config_json, drift_seed, family_alpha, max_units, embeddings: the drift check
    (components/drift); pushgateway_url / model_name: where it publishes shoprank_drift_detected
    for the ShoprankDriftDetected alert ("" = not published). The rest go to train_and_deploy
    unchanged (see its parameters).
    """
    reference = dsl.importer(artifact_uri=reference_uri, artifact_class=dsl.Dataset, reimport=False)
    reference.set_display_name("import-reference")
    current = dsl.importer(artifact_uri=current_uri, artifact_class=dsl.Dataset, reimport=False)
    current.set_display_name("import-current")
    drift = detect_drift(reference=reference.output, current=current.output, config_json=drift_config_json,
                         seed=drift_seed, family_alpha=family_alpha, max_units=max_units, embeddings=embeddings,
                         embedding_cache_dir=embedding_cache_dir, pushgateway_url=pushgateway_url, model_name=model_name)
    drift.set_display_name("drift")
    with dsl.If(drift.outputs["Output"] == True, name="drifted"):  # noqa: E712 (a kfp condition, not a bool)
        train_and_deploy(
            data_uri=data_uri, seed=seed, split_seed=seed, train_epochs=train_epochs, train_max_steps=train_max_steps,
            train_max_minutes=train_max_minutes, min_ndcg=min_ndcg, min_gain_over_champion=min_gain_over_champion,
            tune_trials=tune_trials, tune_minutes=tune_minutes,
            champion_model_uri=champion_model_uri, baselines=baselines, embedding_cache_dir=embedding_cache_dir,
            beat_baselines=beat_baselines, gate_margin=gate_margin, gate_min_queries=gate_min_queries,
            gate_alpha=gate_alpha, require_significance=require_significance,
        ).set_display_name("retrain")
