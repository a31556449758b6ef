"""train_and_deploy: validate -> prepare -> (baseline) -> value -> tune -> train -> evaluate ->
dsl.If(blessed) -> deploy -> canary.
"""

from kfp import dsl

from shoprank.components.baseline.component import evaluate_baseline
from shoprank.components.blessing.component import blessing
from shoprank.components.canary.component import canary_rollout
from shoprank.components.deploy.component import deploy_model
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
    train_max_length: int = 64,
    price_limits: bool = True,
    low_price_words: bool = True,
    spelling_notes: bool = True,
    tune_trials: int = 8,
    tune_minutes: float = 4.0,
    tune_ray_address: str = "",
    tune_space_json: str = "",
    tune_search_dir: str = "",
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
    deploy_target: str = "local",
    canary_mode: str = "interleave",
    canary_max_sessions: int = 3000,
    clicks_policy: str = "both",
    personalise: bool = True,
    distill_teacher: str = "msmarco",
    blend: bool = True,
):
    """data_uri: a folder (local path or object-store URI) holding the contract tables.

    train_max_steps / train_max_minutes: training budgets, 0 = none. train_max_length: tokens per
    (query, product) pair, 0 = fitted to the pairs (64-128). price_limits / low_price_words /
    spelling_notes: the query features the reranker reads (components/train/README.md). tune_trials /
    tune_minutes: the hyperparameter search's budgets, whichever ends first (0 trials = no search).
    tune_ray_address / tune_space_json / tune_search_dir: the tune component's ray_address (an existing
    Ray cluster; "" = RAY_ADDRESS, else a local Ray), space_json ("" = the default space) and search_dir
    (storage every Ray node reaches, e.g. s3://..., for a cluster; components/tune/README.md). min_ndcg /
    min_gain_over_champion: extra blessing thresholds; negative (-1) = not configured.
    beat_baselines / gate_margin / gate_min_queries / gate_alpha / require_significance: the
    default gate (the model beats every baseline and the champion by the margin on enough queries;
    core/evaluation/gate_rule.py); a gate with nothing to beat and no threshold never blesses.
    champion_model_uri: the current champion's model folder. embedding_cache_dir: a
    persistent folder for encoder embeddings ("" = none), shared by value and evaluate and kept
    across runs, so no text is encoded twice. deploy_target / canary_mode /
    canary_max_sessions: where a blessed model goes and how its canary judges it
    (components/deploy, components/canary). clicks_policy: "human", "clicks" or "both" labels from the
    interactions table (components/prepare/README.md). personalise: train on the click log's sessions
    with the shopper's recent items when enough shoppers have a history (components/train/README.md).
    distill_teacher: "msmarco" = warm start by distillation, "" = off. blend: fit the hybrid blend after training; the evaluate stage ships
    the hybrid when it beat the model alone on validation (components/train/README.md).
    """
    raw = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset, reimport=False)
    raw.set_display_name("import-data")
    # validate also refuses data too small for this run's split and valuation method.
    validated = validate_data(raw_data=raw.output, value_method=value_method, split_seed=split_seed)
    validated.set_display_name("validate")
    prepared = prepare_pairs(validated_data=validated.outputs["validated_data"], split_seed=split_seed,
                             clicks_policy=clicks_policy)
    prepared.set_display_name("prepare")
    evaluate_baseline(pairs=prepared.outputs["pairs"]).set_display_name("baseline")
    valued = value_data(pairs=prepared.outputs["pairs"], method=value_method, policy=value_policy, seed=seed,
                        embedding_cache_dir=embedding_cache_dir)
    valued.set_display_name("value")
    tuned = tune_hyperparameters(pairs=valued.outputs["scored_pairs"], trials=tune_trials, minutes=tune_minutes,
                                 seed=seed, loss=train_loss, epochs=train_epochs, max_length=train_max_length,
                                 price_limits=price_limits, low_price_words=low_price_words,
                                 spelling_notes=spelling_notes, ray_address=tune_ray_address,
                                 space_json=tune_space_json, search_dir=tune_search_dir)
    tuned.set_display_name("tune").set_cpu_request("4").set_memory_request("16G").set_memory_limit("32G")
    trained = train_reranker(
        pairs=tuned.outputs["tuned_pairs"], loss=train_loss, epochs=train_epochs,
        max_steps=train_max_steps, max_minutes=train_max_minutes, max_length=train_max_length, seed=seed,
        price_limits=price_limits, low_price_words=low_price_words, spelling_notes=spelling_notes,
        overrides_json=tuned.outputs["best_config_json"],
        sessions=prepared.outputs["sessions"], personalise=personalise,
        distill_teacher=distill_teacher, blend=blend, embedding_cache_dir=embedding_cache_dir,
    )
    # On a cluster the fine-tune asks for one NVIDIA GPU; kfp.local runs it on what the machine has.
    trained.set_display_name("train").set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
    trained.set_cpu_request("4").set_memory_request("16G").set_memory_limit("32G")
    evaluated = evaluate_reranker(
        pairs=prepared.outputs["pairs"], model=trained.outputs["model"], champion_model_uri=champion_model_uri,
        min_ndcg=min_ndcg, min_gain_over_champion=min_gain_over_champion, baselines=baselines,
        embedding_cache_dir=embedding_cache_dir, beat_baselines=beat_baselines, margin=gate_margin,
        min_queries=gate_min_queries, alpha=gate_alpha, require_significance=require_significance, seed=seed,
        sessions=prepared.outputs["sessions"],
    ).set_display_name("evaluate")
    # Branch on the blessing task's single output: kfp.local cannot branch on evaluate's named output.
    blessed = blessing(evaluation=evaluated.outputs["evaluation"]).set_display_name("blessing")
    with dsl.If(blessed.output == True, name="blessed"):  # noqa: E712 (a kfp condition, not a bool)
        deployed = deploy_model(model=trained.outputs["model"], target=deploy_target,
                                champion_model_uri=champion_model_uri).set_display_name("deploy")
        canary_rollout(inference_service=deployed.outputs["inference_service"],
                       validated_data=validated.outputs["validated_data"], pairs=prepared.outputs["pairs"],
                       mode=canary_mode, seed=seed, max_sessions=canary_max_sessions).set_display_name("canary")
