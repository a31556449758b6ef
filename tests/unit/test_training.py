"""Training loop: learning, determinism, example weights, budgets, early stopping, losses, and
CUDA-graph steps (what they change about a batch, inert off CUDA, on a GPU train like eager steps)."""

import math

import numpy as np
import pytest
import torch

from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.training.graphed_step import GRAPH_WIDTH_MULTIPLE, graph_safe_attention_mask
from shoprank.core.training.losses import listwise_loss, pairwise_loss, pointwise_loss
from support.tiny_model import pairs_table, tiny_model_dir, toy_pairs
from shoprank.core.training.batches import collate, tokenize_examples
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train
from shoprank.core.training.schedule import LinearWarmupDecay


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(tiny_model_dir(tmp_path_factory.mktemp("tiny")))


def config(tiny, **overrides) -> TrainConfig:
    base = dict(init_model_dir=tiny, max_length=16, batch_size=8, epochs=2, lr=1e-3, num_threads=1,
                checkpoint_every=0, log_every=1000, patience=0)
    return TrainConfig(**{**base, **overrides})


@pytest.mark.parametrize("loss", ["pointwise", "listwise", "pairwise"])
def test_training_loss_decreases(tmp_path, loss):
    # The packaged MiniLM (a random tiny BERT barely ranks in a few steps): short inputs keep it quick.
    cfg = TrainConfig(loss=loss, max_length=16, batch_size=8, epochs=3, lr=1e-4, num_threads=1,
                      checkpoint_every=0, log_every=1000, patience=0)
    result = train(toy_pairs(), tmp_path / "m", cfg)
    assert len(result["epoch_losses"]) == 3
    assert result["epoch_losses"][-1] < 0.97 * result["epoch_losses"][0]
    assert (tmp_path / "m" / "model.safetensors").exists()
    assert 0.5 < result["validation_ndcg@10"] <= 1


def test_same_seed_same_weights(tiny, tmp_path):
    pairs = toy_pairs()
    first = train(pairs, tmp_path / "a", config(tiny, seed=3))
    second = train(pairs, tmp_path / "b", config(tiny, seed=3))
    other = train(pairs, tmp_path / "c", config(tiny, seed=4))
    assert first["weights_sha256"] == second["weights_sha256"]
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()
    assert first["weights_sha256"] != other["weights_sha256"]


def test_weight_average_is_what_the_run_validates_and_keeps(tiny, tmp_path):
    pairs = toy_pairs()
    # Decay 0.5: a window of 2 steps, so the 12-step run is long enough (two windows) to average.
    plain = train(pairs, tmp_path / "p", config(tiny, seed=3, ema_decay=0))
    averaged = train(pairs, tmp_path / "a", config(tiny, seed=3, ema_decay=0.5))
    again = train(pairs, tmp_path / "b", config(tiny, seed=3, ema_decay=0.5))
    assert averaged["steps"] == 12
    assert averaged["weights_sha256"] == again["weights_sha256"] != plain["weights_sha256"]
    assert averaged["validation_history"] != plain["validation_history"]  # the average is what was validated
    # A run shorter than two windows keeps its last weights: the same model as without averaging
    # (with the run's length not passed to the average, the 3-step run would keep a mean).
    for steps in (1, 3):
        short_plain = train(pairs, tmp_path / f"p{steps}", config(tiny, seed=3, max_steps=steps, ema_decay=0))
        short_averaged = train(pairs, tmp_path / f"a{steps}", config(tiny, seed=3, max_steps=steps, ema_decay=0.5))
        assert short_averaged["weights_sha256"] == short_plain["weights_sha256"]
    with pytest.raises(ConfigError, match=r"ema_decay must be in \[0, 1\), got 1.0"):
        TrainConfig(ema_decay=1.0)


def test_weight_column_is_respected(tiny, tmp_path):
    pairs = toy_pairs()
    unweighted = train(pairs, tmp_path / "u", config(tiny))
    rng = np.random.default_rng(1)
    weighted = pairs.assign(weight=rng.uniform(0.1, 2.0, len(pairs)))
    w1 = train(weighted, tmp_path / "w1", config(tiny))
    # Weights are relative: scaling all of them changes nothing (they are normalised to mean 1).
    w2 = train(weighted.assign(weight=weighted["weight"] * 5), tmp_path / "w2", config(tiny))
    assert w1["weights_sha256"] != unweighted["weights_sha256"]
    assert w1["weights_sha256"] == w2["weights_sha256"]
    # Weight 0 drops a row: same model as training without those rows.
    dropped = pairs.assign(weight=np.where(pairs["query_id"] == "q1", 0.0, 1.0))
    without = pairs[pairs["query_id"] != "q1"]
    r_dropped = train(dropped, tmp_path / "d", config(tiny))
    r_without = train(without, tmp_path / "x", config(tiny))
    assert r_dropped["train_pairs"] == r_without["train_pairs"] == len(without[without.split == "train"])
    assert r_dropped["weights_sha256"] == r_without["weights_sha256"]


def test_rows_of_weight_zero_leave_after_their_query_is_formatted(tiny):
    """A "cheap" verdict and a spelling note read all of a query's candidates, as serving will; a
    row the value stage dropped must not change how the others are written."""
    import pandas as pd
    from transformers import AutoTokenizer

    from shoprank.core.training.loop import training_examples

    rows = [("q1", "cheap mug", "p1", "Stone mug", "Ashby", 5.0, 0.0), ("q1", "cheap mug", "p2", "Clay mug", "Ashby", 10.0, 1.0),
            ("q1", "cheap mug", "p3", "Glass mug", "Ashby", 20.0, 1.0),
            ("q2", "Ashhby mug", "p4", "Stone mug", "Ashby", 9.0, 0.0), ("q2", "Ashhby mug", "p5", "Clay mug", "Voss", 9.0, 1.0),
            ("q2", "Ashhby mug", "p6", "Glass mug", "Voss", 9.0, 1.0)]
    frame = pairs_table([{"query_id": q, "query": query, "product_id": pid, "label": i % 3 + 1, "split": "train",
                          "weight": w, "title": title, "brand": brand, "category": "Kitchen > Mugs", "price": price}
                         for i, (q, query, pid, title, brand, price, w) in enumerate(rows)])
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    cfg = TrainConfig(init_model_dir=tiny, max_length=64, epochs=1)
    kept = training_examples(frame, cfg, tokenizer, cfg.max_length)[0]
    everything = training_examples(frame.assign(weight=1.0), cfg, tokenizer, cfg.max_length)[0]
    assert list(kept.product_ids) == ["p2", "p3", "p5", "p6"]
    ids = dict(zip(everything.product_ids, everything.ids))
    for product_id, row_ids in zip(kept.product_ids, kept.ids):
        assert np.array_equal(row_ids, ids[product_id]), product_id
    # Formatting only the kept rows would have written them otherwise: the $10 mug would be the
    # cheapest of its category, and "Ashhby" would get no note.
    naive = tokenize_examples(frame[frame["weight"] > 0], tokenizer, 64, cfg.pair_format)
    naive_ids = dict(zip(naive.product_ids, naive.ids))
    assert not any(np.array_equal(naive_ids[p], ids[p]) for p in ("p2", "p5", "p6"))
    assert "( ashby )" in tokenizer.decode(ids["p5"]) and "mid - priced" in tokenizer.decode(ids["p2"])


def test_budgets_bound_the_run(tiny, tmp_path):
    pairs = toy_pairs(n_queries=12)
    by_steps = train(pairs, tmp_path / "s", config(tiny, max_steps=3))
    assert by_steps["steps"] == 3 and by_steps["stop_reason"] == "max_steps"
    by_pairs = train(pairs, tmp_path / "p", config(tiny, max_pairs=20, epochs=1))
    assert by_pairs["train_pairs"] <= 20 and by_pairs["train_pairs"] % 6 == 0  # whole queries only


def test_a_minutes_budget_stops_the_run_with_its_lr_schedule_run_through(tiny, tmp_path, monkeypatch):
    import shoprank.core.training.loop as loop
    from support.clock import StepClock

    # The loop's clock says each step takes 0.5 s, whatever this machine's speed: far more planned
    # steps than 3 seconds allow, and the lr must still warm up and decay within them.
    monkeypatch.setattr(loop, "time", StepClock(0.5))
    result = train(toy_pairs(n_queries=12), tmp_path / "m", config(tiny, epochs=500, max_minutes=0.05))
    assert result["stop_reason"] == "max_minutes"
    # The run stops on its first step past the 3 s, long before its planned steps.
    assert 0 < result["train_seconds"] - 3.0 <= result["train_seconds"] / result["steps"]
    assert result["steps"] < 500 * 2
    assert result["schedule_completed"] == 1.0
    by_steps = train(toy_pairs(n_queries=12), tmp_path / "s", config(tiny, epochs=4, max_steps=3))
    assert by_steps["schedule_completed"] == 1.0
    early = train(toy_pairs(n_queries=12), tmp_path / "e", config(tiny, epochs=4, max_steps=3, max_minutes=0.5))
    assert early["stop_reason"] == "max_steps" and early["weights_sha256"] == by_steps["weights_sha256"]


def test_lr_schedule_follows_whichever_budget_is_further_along():
    schedule = LinearWarmupDecay(warmup_steps=10, total_steps=100)
    by_steps = [schedule(step) for step in (0, 9, 10, 55, 100)]
    assert by_steps == pytest.approx([1 / 11, 10 / 11, 1.0, 0.5, 0.0])
    schedule.budget_spent = 0.55  # of the minutes: ahead of step 5
    assert schedule(5) == pytest.approx(0.5)
    assert schedule(80) == pytest.approx(20 / 90)  # the steps are ahead now
    schedule.budget_spent = 1.0
    assert schedule(5) == 0.0


def test_expected_steps_follow_the_minutes_when_they_run_out_first():
    schedule = LinearWarmupDecay(warmup_steps=10, total_steps=100)
    assert schedule.expected_steps(0) == schedule.expected_steps(40) == 100
    schedule.budget_spent = 0.5  # 20 steps took half the minutes: 40 in all
    assert schedule.expected_steps(20) == pytest.approx(40)
    schedule.budget_spent = 0.1  # 20 steps in a tenth: the planned 100 end first
    assert schedule.expected_steps(20) == 100


def test_early_stopping_on_flat_validation(tiny, tmp_path):
    # lr so small the validation NDCG cannot move: the first run sets the best, two more stop it.
    result = train(toy_pairs(), tmp_path / "m", config(tiny, lr=1e-12, eval_every=1, patience=2, epochs=5))
    assert result["stop_reason"] == "early_stopping"
    assert result["steps"] == 3
    assert [h["step"] for h in result["validation_history"]] == [1, 2, 3]


def test_bad_inputs_raise_typed_errors(tiny, tmp_path):
    with pytest.raises(ConfigError, match="loss must be one of"):
        TrainConfig(loss="hinge")
    with pytest.raises(SchemaError, match=r"missing \['label'\]"):
        train(toy_pairs().drop(columns=["label"]), tmp_path / "m", config(tiny))
    with pytest.raises(SchemaError, match="split == 'train'"):
        train(toy_pairs().assign(split="test"), tmp_path / "m", config(tiny))


def test_listwise_weight_is_a_multiplicity():
    logits = torch.tensor([0.3, -1.2, 2.0, 0.1])
    labels = torch.tensor([3.0, 0.0, 1.0, 2.0])
    groups = torch.zeros(4, dtype=torch.long)
    # Plain ListNet with unit weights.
    gains = 2 ** labels - 1
    expected = -(gains / gains.sum() * torch.log_softmax(logits, 0)).sum()
    assert math.isclose(float(listwise_loss(logits, labels, torch.ones(4), groups)), float(expected), rel_tol=1e-6)
    # Weight 2 on item 0 equals listing item 0 twice.
    doubled = listwise_loss(torch.cat([logits, logits[:1]]), torch.cat([labels, labels[:1]]), torch.ones(5),
                            torch.zeros(5, dtype=torch.long))
    weighted = listwise_loss(logits, labels, torch.tensor([2.0, 1, 1, 1]), groups)
    assert math.isclose(float(doubled), float(weighted), rel_tol=1e-6)


def test_pointwise_and_pairwise_losses():
    logits = torch.tensor([2.0, -1.0, 0.5])
    labels = torch.tensor([3.0, 0.0, 0.0])
    ones = torch.ones(3)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels / 3)
    assert math.isclose(float(pointwise_loss(logits, labels, ones)), float(bce), rel_tol=1e-6)
    groups = torch.tensor([0, 0, 1])  # item 2 is another query: only the pair (0, 1) counts
    expected = torch.nn.functional.softplus(torch.tensor(-(2.0 - -1.0)))
    assert math.isclose(float(pairwise_loss(logits, labels, ones, groups)), float(expected), rel_tol=1e-6)
    # Ranking the relevant item lower costs more.
    assert float(pairwise_loss(-logits, labels, ones, groups)) > float(expected)


def test_list_losses_take_a_slot_count_and_give_nothing_to_learn_from_flat_lists():
    logits = torch.tensor([0.3, -1.2, 2.0, 0.1, 0.7], requires_grad=True)
    labels = torch.tensor([3.0, 0.0, 1.0, 2.0, 0.0])
    weights = torch.tensor([1.0, 0.5, 1.5, 1.0, 1.0])
    groups = torch.tensor([0, 0, 1, 1, 1])
    read = listwise_loss(logits, labels, weights, groups)
    (read_grad,) = torch.autograd.grad(read, logits)
    # A slot count known on the host (here with two empty slots) gives the same loss and gradient.
    given = listwise_loss(logits, labels, weights, groups, n_groups=4)
    (given_grad,) = torch.autograd.grad(given, logits)
    assert float(given.detach()) == float(read.detach()) and torch.equal(given_grad, read_grad)
    # Lists whose items are all irrelevant (or tie) rank nothing: loss 0, gradient 0, no NaN.
    for loss in (lambda x: listwise_loss(x, torch.zeros(5), weights, groups, n_groups=2),
                 lambda x: pairwise_loss(x, torch.ones(5), weights, groups)):
        value = loss(logits)
        (grad,) = torch.autograd.grad(value, logits)
        assert float(value.detach()) == 0.0 and torch.equal(grad, torch.zeros(5))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_training_uses_bf16_and_matches_cpu_inference(tiny, tmp_path):
    from shoprank.core.ranking.reranker import Reranker

    result = train(toy_pairs(), tmp_path / "m", config(tiny, device="cuda", epochs=2))
    assert result["device"] == "cuda" and result["steps"] > 0
    assert result["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    pairs = [{"query": "red shoe", "title": "red shoe", "brand": "acme"},
             {"query": "blue hat", "title": "blue lamp", "brand": "acme"}]
    gpu = Reranker.load(tmp_path / "m", device="cuda").score(pairs)
    cpu = Reranker.load(tmp_path / "m", device="cpu").score(pairs)
    np.testing.assert_allclose(gpu, cpu, atol=5e-2)  # bf16 on the GPU vs fp32 (or native bf16) on the CPU


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_same_seed_same_weights(tiny, tmp_path):
    # Deterministic CUDA kernels (seed_everything) make GPU runs repeat bit for bit.
    first = train(toy_pairs(), tmp_path / "a", config(tiny, device="cuda", seed=3))
    second = train(toy_pairs(), tmp_path / "b", config(tiny, device="cuda", seed=3))
    other = train(toy_pairs(), tmp_path / "c", config(tiny, device="cuda", seed=4))
    assert first["weights_sha256"] == second["weights_sha256"]
    assert first["weights_sha256"] != other["weights_sha256"]


def _priced(noun: str, price: float, query: str) -> dict:
    return {"query": query, "title": noun, "category": f"{noun}s", "price": price}


def price_pairs(n_queries: int = 32):
    """Candidates alike but for the price. Even queries name a limit: within it is Exact (3), over
    it Substitute (2). Odd queries ask for "cheap" at a price scale of their own (so the digits
    alone do not tell): the cheapest third of the candidates is Exact, the rest Substitute."""
    rng = np.random.default_rng(0)
    rows = []
    for q in range(n_queries):
        noun = ("mug", "lamp", "bag")[q % 3]
        split = "validation" if q >= n_queries - 6 else "train"
        if q % 2 == 0:
            limit = int(rng.integers(2, 9)) * 10
            query, prices = f"{noun} under ${limit}", rng.uniform(0.3, 1.7, size=8) * limit
            labels = np.where(prices <= limit, 3, 2)
        else:
            query, prices = f"cheap {noun}", rng.uniform(0.5, 2.0, size=9) * np.exp(rng.uniform(np.log(10), np.log(900)))
            labels = np.where(np.argsort(np.argsort(prices)) < 3, 3, 2)
        for c, (price, label) in enumerate(zip(prices, labels)):
            rows.append({"query_id": f"q{q:03d}", "product_id": f"p{q}-{c}", **_priced(noun, price, query),
                         "label": int(label), "split": split})
    return pairs_table(rows)


def test_price_verdicts_are_learnt_and_travel_with_the_model(tmp_path):
    import json

    from shoprank.core.text.price_fit import LIMIT_VERDICTS
    from shoprank.core.text.pair_format import PRICE_VERDICTS_KEY, SPELLING_NOTES_KEY, PairFormat
    from shoprank.core.ranking.reranker import Reranker

    assert PairFormat.stored(tiny_model_dir(tmp_path / "plain")) == PairFormat()  # saved without the keys: plain pairs
    cfg = dict(max_length=32, batch_size=16, epochs=3, lr=1e-4, num_threads=1, checkpoint_every=0, log_every=1000,
               patience=0)
    result = train(price_pairs(), tmp_path / "on", TrainConfig(**cfg))
    config_path = tmp_path / "on" / "config.json"
    stored = json.loads(config_path.read_text())
    assert PairFormat(stored[PRICE_VERDICTS_KEY], stored[SPELLING_NOTES_KEY]) == PairFormat.latest()
    assert PairFormat.stored(tmp_path / "on") == PairFormat.latest()
    assert result["validation_ndcg@10"] > 0.99
    # The model ranks by the verdict: one product, two limits, the one it fits scores higher.
    ranker = Reranker.load(tmp_path / "on")
    products = [(noun, price) for noun in ("mug", "lamp", "bag") for price in (24.5, 47.0, 71.99)]
    fits = ranker.score([_priced(noun, price, f"{noun} under ${price + 5:.0f}") for noun, price in products])
    over = ranker.score([_priced(noun, price, f"{noun} under ${price - 5:.0f}") for noun, price in products])
    assert (fits > over).all(), (fits, over)
    # And asked for "cheap", the cheapest of three candidates of a category scores above the dearest.
    for noun in ("mug", "lamp", "bag"):
        for scale in (15.0, 150.0, 900.0):
            for query in (f"cheap {noun}", f"chep {noun}"):  # misspelt: read as "cheap" (price_fit version 3)
                scores = ranker.score([_priced(noun, scale * f, query) for f in (0.6, 1.0, 1.6)])
                assert scores[0] > scores[2], (query, scale, scores)
    # Models saved when the key was true/false read limit verdicts only; a value of another kind is refused.
    config_path.write_text(json.dumps({**stored, PRICE_VERDICTS_KEY: True}))
    assert Reranker.load(tmp_path / "on").pair_format.price_verdicts == LIMIT_VERDICTS
    config_path.write_text(json.dumps({**stored, PRICE_VERDICTS_KEY: "yes"}))
    with pytest.raises(ConfigError, match=f"{PRICE_VERDICTS_KEY}.*got 'yes'"):
        PairFormat.stored(tmp_path / "on")
    off = TrainConfig(price_limits=False, low_price_words=False, spelling_notes=False, **{**cfg, "epochs": 1})
    train(price_pairs(), tmp_path / "off", off)
    assert Reranker.load(tmp_path / "off").pair_format == off.pair_format
    assert off.pair_format.is_plain and off.pair_format.price_verdicts == off.pair_format.spelling_notes == 0


TOY_BRANDS = ("Ashby", "Brandt", "Corvale", "Dunmore", "Elkins", "Fairlow", "Garrick", "Holloway")


def misspelt_brand_pairs(n_queries: int, seed: int, validation_queries: int = 0):
    """Queries "<brand with one typo> <noun>"; candidates the same noun from six brands, the
    query's brand Exact (3), the others Complement (1): only the brand tells them apart."""
    from shoprank.core.text.query_typos import misspell

    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_queries):
        brand, noun = TOY_BRANDS[q % len(TOY_BRANDS)], ("mug", "lamp", "bag")[q % 3]
        query = f"{misspell(brand, rng)} {noun}"
        others = [b for b in TOY_BRANDS if b != brand]
        for c, candidate in enumerate([brand, *rng.choice(others, 5, replace=False)]):
            rows.append({"query_id": f"q{q:03d}", "query": query, "product_id": f"p{q}-{c}",
                         "title": noun, "brand": candidate, "category": f"{noun}s",
                         "label": 3 if candidate == brand else 1,
                         "split": "validation" if q >= n_queries - validation_queries else "train"})
    return pairs_table(rows)


def test_spelling_notes_are_learnt_and_travel_with_the_model(tmp_path):
    from shoprank.core.text.query_spelling import SPELLING_NOTES_VERSION
    from shoprank.core.text.pair_format import PairFormat
    from shoprank.core.ranking.reranker import Reranker

    cfg = TrainConfig(max_length=32, batch_size=16, epochs=3, lr=1e-4, num_threads=1, checkpoint_every=0,
                      log_every=1000, patience=0)
    train(misspelt_brand_pairs(64, seed=0, validation_queries=8), tmp_path / "m", cfg)
    ranker = Reranker.load(tmp_path / "m")
    assert ranker.pair_format.spelling_notes == SPELLING_NOTES_VERSION  # from config.json
    unseen = misspelt_brand_pairs(48, seed=7)  # other typos of the same brands

    def right_brand_first() -> float:
        scores = ranker.score(unseen)
        top = unseen.assign(score=scores).sort_values("score", ascending=False).groupby("query_id").head(1)
        return float((top["label"] == 3).mean())

    with_notes = right_brand_first()
    ranker.pair_format = PairFormat(ranker.pair_format.price_verdicts, spelling_notes=0)
    # The model ranks by the note: without it the same model often misses the misspelt brand.
    assert with_notes >= 0.95 and right_brand_first() <= with_notes - 0.2, (with_notes, right_brand_first())


def test_train_cli_writes_a_verified_model_folder(tiny, tmp_path, capsys):
    import json

    from shoprank.core.training.export import verify_manifest
    from shoprank.trainer.cli import main

    pairs = tmp_path / "pairs.parquet"
    toy_pairs().to_parquet(pairs)
    overrides = {"init_model_dir": tiny, "max_length": 16, "batch_size": 8, "epochs": 1, "num_threads": 1}
    metrics = main(["--pairs", str(pairs), "--out", str(tmp_path / "model"), "--checkpoint-dir",
                    str(tmp_path / "ckpt"), "--config-json", json.dumps(overrides), "--no-quantize"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == metrics
    manifest = verify_manifest(tmp_path / "model")
    assert "model.onnx" in manifest["files"] and "model.int8.onnx" not in manifest["files"]
    assert (tmp_path / "ckpt" / "last.pt").exists()


def test_epoch_batches_cover_rows_once_and_depend_only_on_seed_and_epoch():
    from transformers import AutoTokenizer

    from shoprank.core.ranking.encoder import pretrained_model_dir
    from shoprank.core.training.batches import epoch_batches, tokenize_examples

    pairs = toy_pairs(n_queries=10)
    examples = tokenize_examples(pairs, AutoTokenizer.from_pretrained(pretrained_model_dir()), 16)
    flat = np.concatenate(epoch_batches(examples, 0, 5, 8, grouped=False, list_size=32))
    assert sorted(flat.tolist()) == list(range(len(pairs)))
    again = epoch_batches(examples, 0, 5, 8, grouped=False, list_size=32)
    assert all((a == b).all() for a, b in zip(again, epoch_batches(examples, 0, 5, 8, False, 32)))
    assert not np.array_equal(flat, np.concatenate(epoch_batches(examples, 1, 5, 8, False, 32)))
    # Grouped: lists are whole queries (<= list_size rows, more than one distinct label), never split.
    for batch in epoch_batches(examples, 0, 5, 8, grouped=True, list_size=32):
        for group in np.unique(examples.groups[batch]):
            rows = batch[examples.groups[batch] == group]
            assert len(rows) == int((examples.groups == group).sum())
            assert len(np.unique(examples.labels[rows])) > 1


@pytest.mark.parametrize("decay, embeddings_move", [(1.0, True), (0.01, False)])
def test_layer_lr_decay_keeps_lower_layers_close_to_the_pretrained_weights(tiny, tmp_path, decay, embeddings_move):
    from transformers import AutoModel, AutoModelForSequenceClassification

    train(toy_pairs(), tmp_path / "m", config(tiny, epochs=1, max_steps=3, layer_lr_decay=decay))
    before = AutoModel.from_pretrained(tiny).embeddings.word_embeddings.weight
    after = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m").bert.embeddings.word_embeddings.weight
    moved = float((after - before).detach().abs().max())
    # Adam moves each touched weight by about lr (1e-3) per step; decay 0.01 scales the embeddings' lr by 1e-6.
    assert (moved > 1e-4) if embeddings_move else (moved < 1e-6), moved


def test_layer_lr_decay_outside_zero_to_one_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"layer_lr_decay must be in \(0, 1\], got 0"):
        TrainConfig(layer_lr_decay=0)


def test_frozen_layers_keep_their_pretrained_weights_and_the_rest_learn(tiny, tmp_path):
    from transformers import AutoModel, AutoModelForSequenceClassification

    result = train(toy_pairs(), tmp_path / "m", config(tiny, epochs=1, max_steps=3, frozen_layers=2))
    before = AutoModel.from_pretrained(tiny).state_dict()
    after = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m").bert.state_dict()
    frozen = [n for n in before if n.startswith(("embeddings.", "encoder.layer.0."))]
    trained = [n for n in before if n.startswith("encoder.layer.1.") and n.endswith(".weight")]
    assert frozen and trained
    assert all(torch.equal(before[n], after[n]) for n in frozen)
    assert all(not torch.equal(before[n], after[n]) for n in trained)
    assert result["config"]["frozen_layers"] == 2


def test_frozen_layers_out_of_range_is_a_clear_error(tiny, tmp_path):
    with pytest.raises(ConfigError, match=r"frozen_layers must be >= 0, got -1"):
        TrainConfig(frozen_layers=-1)
    # The tiny model has the embeddings and 2 transformer layers: at most 3 can be frozen.
    with pytest.raises(ConfigError, match=r"frozen_layers must be at most 3 \(the embeddings and 2 transformer "
                                          r"layers\), got 4"):
        train(toy_pairs(), tmp_path / "m", config(tiny, max_steps=1, frozen_layers=4))


def test_dropout_overrides_the_pretrained_config_and_changes_the_run(tiny, tmp_path):
    import json

    pairs = toy_pairs()
    pretrained = train(pairs, tmp_path / "p", config(tiny, max_steps=3))
    without = train(pairs, tmp_path / "n", config(tiny, max_steps=3, dropout=0.0))
    saved = json.loads((tmp_path / "n" / "config.json").read_text())
    assert saved["hidden_dropout_prob"] == saved["attention_probs_dropout_prob"] == saved["classifier_dropout"] == 0.0
    assert json.loads((tmp_path / "p" / "config.json").read_text())["hidden_dropout_prob"] > 0
    assert without["weights_sha256"] != pretrained["weights_sha256"]
    with pytest.raises(ConfigError, match=r"dropout must be in \[0, 1\) or None, got 1.0"):
        TrainConfig(dropout=1.0)


# ----------------------------------------------------------------------------- CUDA graphs


def _examples(tiny):
    from transformers import AutoTokenizer

    pairs = toy_pairs()
    pairs["query"] = pairs["query"] + np.where(np.arange(len(pairs)) % 3 == 0, " with a longer tail", "")
    return tokenize_examples(pairs, AutoTokenizer.from_pretrained(tiny), max_length=32)


def test_collate_rounds_the_width_up_and_masks_the_extra_columns(tiny):
    examples = _examples(tiny)
    rows = np.arange(30)[np.arange(30) % 3 != 0][:10]  # short rows only: a width that is not a multiple
    plain = collate(examples, rows)
    rounded = collate(examples, rows, width_multiple=GRAPH_WIDTH_MULTIPLE)
    width = plain["input_ids"].shape[1]
    assert width % GRAPH_WIDTH_MULTIPLE != 0  # else the test shows nothing
    assert rounded["input_ids"].shape[1] == -(-width // GRAPH_WIDTH_MULTIPLE) * GRAPH_WIDTH_MULTIPLE
    assert torch.equal(rounded["input_ids"][:, :width], plain["input_ids"])
    assert torch.equal(rounded["attention_mask"].sum(1), plain["attention_mask"].sum(1))
    for name in ("labels", "weights", "groups"):
        assert torch.equal(rounded[name], plain[name])


def test_graph_safe_mask_scores_like_the_usual_mask(tiny):
    from transformers import AutoModelForSequenceClassification

    batch = collate(_examples(tiny), np.arange(12), width_multiple=GRAPH_WIDTH_MULTIPLE)
    assert (batch["attention_mask"] == 0).any()  # padded rows, so the mask matters
    model = AutoModelForSequenceClassification.from_pretrained(tiny, num_labels=1).eval()
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids")}
    with torch.no_grad():
        usual = model.bert(**inputs, attention_mask=batch["attention_mask"]).last_hidden_state[:, 0]
        graph_safe = model.bert(**inputs, attention_mask=graph_safe_attention_mask(batch["attention_mask"]))
        unmasked = model.bert(**inputs).last_hidden_state[:, 0]
    torch.testing.assert_close(graph_safe.last_hidden_state[:, 0], usual, rtol=0, atol=1e-5)
    assert not torch.allclose(unmasked, usual, atol=1e-2)  # the mask matters for these rows


def test_cuda_graphs_on_cpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="cuda_graphs needs device 'cuda' or 'auto'.*got device 'cpu'"):
        TrainConfig(cuda_graphs=True, device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback where no GPU exists")
def test_cuda_graphs_without_a_gpu_trains_exactly_as_without(tiny, tmp_path, caplog):
    plain = train(toy_pairs(), tmp_path / "a", config(tiny, seed=5))
    with caplog.at_level("WARNING", logger="shoprank.core.training.loop"):
        asked = train(toy_pairs(), tmp_path / "b", config(tiny, seed=5, cuda_graphs=True))
    assert asked["graph_replays"] == 0 and asked["device"] == "cpu"
    assert asked["weights_sha256"] == plain["weights_sha256"]
    assert "graphs need a single CUDA process" in caplog.text


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("loss", ["pointwise", "listwise"])
def test_gpu_graph_replays_train_like_eager_steps(tiny, tmp_path, loss):
    pairs = toy_pairs(n_queries=60, validation_queries=6)
    common = dict(device="cuda", seed=3, loss=loss, epochs=3)
    eager = train(pairs, tmp_path / "eager", config(tiny, **common))
    graphed = train(pairs, tmp_path / "graphed", config(tiny, **common, cuda_graphs=True))
    again = train(pairs, tmp_path / "again", config(tiny, **common, cuda_graphs=True))
    assert graphed["steps"] == eager["steps"]
    assert graphed["graph_replays"] > graphed["steps"] // 2  # most batches share a few shapes
    assert graphed["weights_sha256"] == again["weights_sha256"]  # same seed, same result
    # Same learning: padding columns and the attention kernel differ, so not bit for bit.
    np.testing.assert_allclose(graphed["epoch_losses"], eager["epoch_losses"], rtol=0.05)
    assert abs(graphed["validation_ndcg@10"] - eager["validation_ndcg@10"]) < 0.05
