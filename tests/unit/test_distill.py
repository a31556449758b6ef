"""Warm start by distillation: the Margin-MSE term, when the MS MARCO teacher is used or turned off,
and a real training run that carries the teacher's scores into its batches."""

import itertools

import numpy as np
import pytest
import torch

from shoprank.core.common.errors import ConfigError
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.distill import TEACHER_COLUMN, margin_mse_loss, with_teacher_scores
from shoprank.core.training.loop import train
from support.tiny_model import pairs_table, tiny_model_dir

# English shop queries whose irrelevant products repeat the query's words (which BM25 rewards)
# and whose relevant ones say what they are: the MS MARCO cross-encoder ranks these better than BM25.
ENGLISH = [
    ("q1", "running shoes", [("Men's running shoes, lightweight trail sneakers", 3),
                             ("Shoe rack: shoes shoes shoes storage, running out of space?", 0),
                             ("Women's jogging sneakers with breathable mesh", 2), ("Running shorts", 1)]),
    ("q2", "coffee maker", [("Drip coffee maker, 12 cup, with glass carafe", 3),
                            ("Coffee table book: the maker, the coffee, the coffee maker story", 0),
                            ("Espresso machine with milk frother", 2), ("Coffee beans, dark roast", 1)]),
    ("q3", "laptop bag", [("Laptop bag for 15 inch notebooks, padded messenger case", 3),
                          ("Bag of laptop stickers: laptop laptop decals bag", 0),
                          ("Computer backpack with padded sleeve", 2), ("Laptop stand, aluminium", 1)]),
]
# German queries whose words appear exactly in the relevant titles only: BM25 ranks them perfectly,
# so no teacher can rank them better.
GERMAN = [
    ("d1", "Laufschuhe Herren", [("Laufschuhe Herren leicht", 3), ("Kaffeetasse aus Porzellan", 0),
                                 ("Gartenschlauch 20 Meter", 0)]),
    ("d2", "Kaffeetasse", [("Kaffeetasse blau", 3), ("Laufschuhe Damen", 0), ("Schreibtischlampe LED", 0)]),
]


def shop_pairs(queries, split="train"):
    rows = [{"query_id": qid, "query": query, "product_id": f"{qid}-{i}", "title": title, "label": label,
             "split": split}
            for qid, query, products in queries for i, (title, label) in enumerate(products)]
    return pairs_table(rows)


def test_margin_mse_is_the_mean_over_every_pair_of_a_list():
    rng = np.random.default_rng(0)
    logits, teacher = (torch.tensor(rng.normal(size=9), dtype=torch.float32) for _ in range(2))
    groups = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 3])  # lists of 3, 4 and two single rows (no pairs)
    per_list = []
    for g in (0, 1):
        rows = [i for i in range(9) if groups[i] == g]
        per_list.append(np.mean([float(((logits[i] - logits[j]) - (teacher[i] - teacher[j])) ** 2)
                                 for i, j in itertools.combinations(rows, 2)]))
    assert float(margin_mse_loss(logits, teacher, groups, n_groups=4)) == pytest.approx(np.mean(per_list), rel=1e-5)
    # Only margins count: the teacher's scores shifted per list cost nothing.
    assert float(margin_mse_loss(teacher + groups.float() * 5, teacher, groups)) == pytest.approx(0.0, abs=1e-6)


def test_teacher_is_used_where_it_ranks_the_labels_better_than_bm25():
    frame = shop_pairs(ENGLISH)
    scored, info = with_teacher_scores(frame, "msmarco", 1.0)
    assert info["used"], info
    assert info["teacher_ndcg10"] > info["bm25_ndcg10"]
    assert np.std(scored[TEACHER_COLUMN]) == pytest.approx(1.0, rel=1e-4)
    # Relevant products score above the irrelevant ones of their query.
    relevant = scored[scored["label"] == 3][TEACHER_COLUMN].mean()
    assert relevant > scored[scored["label"] == 0][TEACHER_COLUMN].mean()


def test_teacher_turns_itself_off_where_bm25_is_already_as_good():
    frame = shop_pairs(GERMAN)
    scored, info = with_teacher_scores(frame, "msmarco", 1.0)
    assert not info["used"] and "BM25" in info["reason"]
    assert TEACHER_COLUMN not in scored
    off, off_info = with_teacher_scores(frame, None, 1.0)
    assert off is frame and off_info["reason"] == "off"


def test_bad_distillation_settings_raise_config_errors():
    with pytest.raises(ConfigError, match="distill_teacher"):
        TrainConfig(distill_teacher="gpt")
    with pytest.raises(ConfigError, match="distill_weight"):
        TrainConfig(distill_weight=-1.0)


def test_a_run_with_a_teacher_learns_and_reports_it(tmp_path):
    tiny = str(tiny_model_dir(tmp_path / "tiny"))
    frame = shop_pairs(ENGLISH * 4)
    frame["query_id"] = [f"{qid}-{i // 12}" for i, qid in enumerate(frame["query_id"])]
    frame.loc[frame["query_id"].str.endswith("-3"), "split"] = "validation"
    config = TrainConfig(init_model_dir=tiny, max_length=32, batch_size=8, epochs=10, lr=3e-3, num_threads=1,
                         checkpoint_every=0, log_every=1000, patience=0, seed=3)
    result = train(frame, tmp_path / "m", config)
    assert result["distillation"]["used"]
    assert result["epoch_losses"][-1] < result["epoch_losses"][0]
    same = train(frame, tmp_path / "m2", config)
    assert same["weights_sha256"] == result["weights_sha256"]
    alone = train(frame, tmp_path / "m3", TrainConfig(**{**config.to_dict(), "distill_weight": 0.0}))
    assert not alone["distillation"]["used"]
    assert alone["weights_sha256"] != result["weights_sha256"]


def test_scores_already_in_the_frame_are_reused_not_recomputed():
    frame = shop_pairs(ENGLISH)
    scored, _ = with_teacher_scores(frame, "msmarco", 1.0)
    again, info = with_teacher_scores(scored, "msmarco", 1.0)
    assert info["used"]
    np.testing.assert_allclose(again[TEACHER_COLUMN], scored[TEACHER_COLUMN], atol=1e-5)
