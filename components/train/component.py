"""kfp component `train_reranker`: a thin body around shoprank.core.stages.train."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def train_reranker(
    pairs: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    sessions: Input[Dataset] = None,
    personalise: bool = True,
    loss: str = "listwise",
    lr: float = 2e-4,
    batch_size: int = 48,
    epochs: int = 3,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    layer_lr_decay: float = 1.0,
    grad_accum: int = 1,
    ema_decay: float = 0.995,
    max_length: int = 64,
    query_typo_rate: float = 0.0,
    price_limits: bool = True,
    low_price_words: bool = True,
    spelling_notes: bool = True,
    default_locale: str = "en_US",
    max_pairs: int = 0,
    max_steps: int = 0,
    max_minutes: float = 0.0,
    patience: int = 2,
    checkpoint_every: int = 100,
    checkpoint_dir: str = "",
    seed: int = 0,
    precision: str = "auto",
    init_model_dir: str = "",
    overrides_json: str = "",
    distill_teacher: str = "msmarco",
    blend: bool = True,
    embedding_cache_dir: str = "",
):
    """Fine-tune the cross-encoder on the pairs' train split (early stopping on validation
    NDCG@10, `weight` column as example weights), then write the model folder: hf/, model.onnx,
    model.int8.onnx and manifest.json (sha256 of every file, config, data fingerprint, metrics).

    Runs on a GPU (bf16) when the pipeline gives the task one, else on CPU.
    layer_lr_decay: < 1 gives each lower layer a smaller lr (keeps more of the pretrained encoder).
    query_typo_rate: share of training queries misspelt (one edit) afresh each epoch.
    price_limits / low_price_words / spelling_notes: the query features the model reads ("under $40"
    -> a verdict after each price; "cheap mug" -> each price's third in its category; "Ashhby mouse
    (ashby)"), stored with the model. default_locale: the locale of queries without one; the price
    features read each query's locale's words, and locales without a word table get none.
    ema_decay: the model validated and kept is this moving average of the weights (0 = last step's;
    a run of fewer than 2 / (1 - ema_decay) steps keeps the last step's too).
    max_length: tokens per (query, product text) pair; 0 = fitted to the pairs (64-128, long enough
    for the query and the product's fields in 95% of them; for long titles, see the README).
    max_pairs / max_steps / max_minutes: budgets, 0 = none. checkpoint_dir: a persistent path
    (a mounted volume) where checkpoints go, so a killed run resumes; "" = no checkpoints. init_model_dir: ""
    = the packaged all-MiniLM-L6-v2. overrides_json: TrainConfig fields as JSON (e.g. the tuned
    config), applied over the parameters. distill_teacher: "msmarco" = warm start by distillation
    (core/training/distill.py), "" = off. blend: fit the hybrid blend (model + BM25 + zero-shot
    cosine, weights on the validation split) into the folder's hybrid.json; the evaluate stage
    and serving use it when it beat the model alone (core/ranking/hybrid_fit.py).
    embedding_cache_dir: the zero-shot encoder's embedding cache for the blend ("" = none).
    sessions / personalise: the prepare stage's search sessions; with personalise on (default) and at
    least 50 training sessions whose shopper has a history, the capped training sessions join the
    pairs and the model reads the shopper's recent items (core/clicks/personalise.py); else unchanged.
    """
    from shoprank.components.outputs import log_metrics
    from shoprank.components.params import hybrid_config, none_if_unset, train_config
    from shoprank.core.stages.train import run_train_stage

    config = train_config(
        overrides_json=overrides_json, loss=loss, lr=lr, batch_size=batch_size, epochs=epochs,
        warmup_ratio=warmup_ratio, weight_decay=weight_decay, layer_lr_decay=layer_lr_decay,
        grad_accum=grad_accum, ema_decay=ema_decay, max_length=max_length, query_typo_rate=query_typo_rate,
        price_limits=price_limits, low_price_words=low_price_words, spelling_notes=spelling_notes,
        default_locale=default_locale, max_pairs=max_pairs, max_steps=max_steps, max_minutes=max_minutes,
        patience=patience, checkpoint_every=checkpoint_every, seed=seed, precision=precision,
        init_model_dir=init_model_dir, distill_teacher=distill_teacher,
    )
    hybrid = hybrid_config(embedding_cache_dir) if blend else None
    result = run_train_stage(pairs.path, model.path, config, checkpoint_dir=none_if_unset(checkpoint_dir),
                             sessions_path=sessions.path if sessions is not None else None, personalise=personalise,
                             blend=hybrid)
    model.framework = "transformers+onnx"
    model.metadata["manifest"] = "manifest.json"
    log_metrics(metrics, result)
