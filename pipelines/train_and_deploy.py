"""train_and_deploy: validate -> prepare -> (baseline) -> value -> tune -> train -> evaluate -> blessed.

Deploy and canary join behind dsl.If(blessed) as they land.
"""

from kfp import dsl

from shoprank.components.baseline.component import evaluate_baseline
from shoprank.components.evaluate.component import evaluate_reranker
from shoprank.components.prepare.component import prepare_pairs
from shoprank.components.train.component import train_reranker
from shoprank.components.tune.component import tune_hyperparameters
from shoprank.components.validate.component import validate_data
from shoprank.components.value.component import value_data

PIPELINE_NAME = "shoprank-train-and-deploy"


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="Validate data, value training pairs, fine-tune a cross-encoder reranker and gate it against baselines.",
)
def train_and_deploy(
    data_uri: str,
    split_seed: int = 0,
    seed: int = 0,
    value_method: str = "knn_shapley",
    value_policy: str = "weight",
    train_loss: str = "listwise",
    train_epochs: int = 3,
    train_max_steps: int = 0,
    train_max_minutes: float = 0.0,
    tune_trials: int = 8,
    tune_minutes: float = 4.0,
    min_ndcg: float = -1.0,
    min_gain_over_champion: float = -1.0,
    champion_model_uri: str = "",
    baselines: str = "bm25,zeroshot,msmarco",
    embedding_cache_dir: str = "",
):
    """data_uri: a folder (local path or object-store URI) holding the contract tables.

    train_max_steps / train_max_minutes: training budgets, 0 = none. tune_trials / tune_minutes: the
    hyperparameter search's budgets, whichever ends first (0 trials = no search). min_ndcg /
    min_gain_over_champion: the blessing thresholds; negative (-1) = not configured, and an
    unconfigured gate never blesses. champion_model_uri: the current champion's model folder. embedding_cache_dir: a
    persistent folder for encoder embeddings ("" = none), shared by value and evaluate and kept
    across runs, so no text is encoded twice.
    """
    raw = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset, reimport=False)
    raw.set_display_name("import-data")
    validated = validate_data(raw_data=raw.output).set_display_name("validate")
    prepared = prepare_pairs(validated_data=validated.outputs["validated_data"], split_seed=split_seed)
    prepared.set_display_name("prepare")
    evaluate_baseline(pairs=prepared.outputs["pairs"]).set_display_name("baseline")
    valued = value_data(pairs=prepared.outputs["pairs"], method=value_method, policy=value_policy, seed=seed,
                        embedding_cache_dir=embedding_cache_dir)
    valued.set_display_name("value")
    tuned = tune_hyperparameters(pairs=valued.outputs["scored_pairs"], trials=tune_trials, minutes=tune_minutes,
                                 seed=seed, loss=train_loss, epochs=train_epochs)
    tuned.set_display_name("tune").set_cpu_request("4").set_memory_request("16G").set_memory_limit("32G")
    trained = train_reranker(
        pairs=tuned.outputs["tuned_pairs"], loss=train_loss, epochs=train_epochs,
        max_steps=train_max_steps, max_minutes=train_max_minutes, seed=seed,
        overrides_json=tuned.outputs["best_config_json"],
    )
    # On a cluster the fine-tune asks for one NVIDIA GPU; kfp.local runs it on what the machine has.
    trained.set_display_name("train").set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
    trained.set_cpu_request("4").set_memory_request("16G").set_memory_limit("32G")
    evaluate_reranker(
        pairs=prepared.outputs["pairs"], model=trained.outputs["model"], champion_model_uri=champion_model_uri,
        min_ndcg=min_ndcg, min_gain_over_champion=min_gain_over_champion, baselines=baselines,
        embedding_cache_dir=embedding_cache_dir,
    ).set_display_name("evaluate")
