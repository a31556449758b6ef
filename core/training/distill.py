"""Warm start by distillation: the MS MARCO cross-encoder teaches the student while it learns the labels.

The teacher (cross-encoder/ms-marco-MiniLM-L-12-v2, shipped with the project; core/ranking/baselines.py)
scores every training pair once, before the first step; no label is needed for that. The student
then minimises

    loss = label loss (TrainConfig.loss) + distill_weight * Margin-MSE(student, teacher)

where Margin-MSE is the cross-architecture knowledge distillation loss of Hofstaetter et al.,
"Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge Distillation"
(arXiv 2010.02666, 2020): the mean squared difference between the student's and the teacher's
score *margins* (s_i - s_j) - (t_i - t_j). Here it runs over every pair of candidates of a
query within a ranked list of the batch (the paper uses one positive and one negative per query),
so the student learns the teacher's ordering of the whole list, not its score scale.

Teacher scores are standardised to unit standard deviation over the training pairs, so the
term is O(1), the size of the listwise loss, on any data set.

The teacher is English (trained on MS MARCO web passages). On another language, or wherever it
ranks the shop's training pairs no better than BM25 does (NDCG@10 against the labels, both on
the training split, which the run may read), distillation turns itself off with a warning and
the run learns from the labels alone: a teacher that disagrees with the shop's own judgments is
not a teacher worth copying. `distill_weight=0` (or distill_teacher None) turns it off outright.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from shoprank.core.common.errors import ConfigError

log = logging.getLogger(__name__)

TEACHERS = ("msmarco",)
TEACHER_COLUMN = "teacher_score"
# The teacher reads at most this many tokens per pair: the student reads 64-128, so longer
# descriptions would only cost time (the MS MARCO model has 12 layers to the student's 6).
TEACHER_MAX_LENGTH = 128


def check_teacher(teacher: str | None, weight: float) -> None:
    """ConfigError unless teacher is None or one of TEACHERS and weight >= 0."""
    if teacher is not None and teacher not in TEACHERS:
        raise ConfigError(f"distill_teacher must be one of {list(TEACHERS)} or None, got {teacher!r}")
    if not weight >= 0:
        raise ConfigError(f"distill_weight must be >= 0, got {weight}")


def with_teacher_scores(train_frame, teacher: str | None, weight: float):
    """train_frame with a `teacher_score` column (standardised teacher logits), or unchanged when
    distillation is off or the teacher ranks the training labels no better than BM25. A
    `teacher_score` column already there (no NaN) is taken as the teacher's scores (no rescoring).

    train_frame: the training pairs (query, product_text, label, query_id, product_id columns).
    Returns (frame, info) where info says what happened: teacher, ndcg@10 of teacher and BM25 on
    the training labels, seconds, and `used` (bool) with the `reason`.
    """
    info: dict = {"teacher": teacher, "weight": weight, "used": False}
    if teacher is None or weight == 0 or train_frame.empty:
        info["reason"] = "off"
        return train_frame, info
    from shoprank.core.evaluation.metrics import rank_metrics, relevant_label
    from shoprank.core.ranking.baselines import msmarco_scores
    from shoprank.core.ranking.bm25 import bm25_scores

    started = time.perf_counter()
    if TEACHER_COLUMN in train_frame and train_frame[TEACHER_COLUMN].notna().all():
        # Scored before (e.g. once for every trial of a tuning run): standardising again changes nothing.
        raw = train_frame[TEACHER_COLUMN].to_numpy(np.float64)
    else:
        log.info("distill: the %s teacher scores %d training pairs", teacher, len(train_frame))
        raw = msmarco_scores(train_frame["query"].astype(str).tolist(),
                             train_frame["product_text"].astype(str).tolist(), max_length=TEACHER_MAX_LENGTH)
    relevant = relevant_label(train_frame["label"])
    scored = train_frame.assign(_teacher=raw, _bm25=bm25_scores(train_frame))
    teacher_ndcg = rank_metrics(scored, "_teacher", relevant=relevant)["ndcg@10"]
    bm25_ndcg = rank_metrics(scored, "_bm25", relevant=relevant)["ndcg@10"]
    info.update(teacher_ndcg10=teacher_ndcg, bm25_ndcg10=bm25_ndcg, seconds=round(time.perf_counter() - started, 2))
    if teacher_ndcg is None or bm25_ndcg is None or teacher_ndcg <= bm25_ndcg:
        info["reason"] = "the teacher ranks the training labels no better than BM25 (another language or domain?)"
        log.warning("distill: off: teacher NDCG@10 %s <= BM25 %s on the training labels; learning from the labels "
                    "alone", teacher_ndcg, bm25_ndcg)
        return train_frame, info
    std = float(np.std(raw))
    standardised = (raw - float(np.mean(raw))) / (std if std > 0 else 1.0)
    info.update(used=True, reason=f"teacher NDCG@10 {teacher_ndcg:.4f} > BM25 {bm25_ndcg:.4f} on the training labels")
    log.info("distill: on (weight %g): %s; scored in %.1f s", weight, info["reason"], info["seconds"])
    return train_frame.assign(**{TEACHER_COLUMN: standardised.astype(np.float32)}), info


def margin_mse_loss(logits, teacher, groups, n_groups: int | None = None):
    """Margin-MSE over every pair of rows in the same list, averaged over lists with >= 2 rows.

    logits, teacher: (n,) float; groups: (n,) int list slot. For a list of m rows with
    d = logits - teacher, the mean over its m(m-1)/2 pairs of ((s_i - s_j) - (t_i - t_j))^2
    equals 2 / (m - 1) * sum_i (d_i - mean d)^2, computed in O(m). No value is read back from
    the device when n_groups is given.
    """
    import torch

    if n_groups is None:
        n_groups = int(groups.max().item()) + 1
    index = groups.long()
    diff = logits - teacher
    zeros = torch.zeros(n_groups, dtype=logits.dtype, device=logits.device)
    count = zeros.index_add(0, index, torch.ones_like(diff))
    mean = zeros.index_add(0, index, diff) / count.clamp(min=1)
    squares = zeros.index_add(0, index, (diff - mean[index]) ** 2)
    has_pairs = count >= 2
    per_group = torch.where(has_pairs, 2.0 * squares / (count - 1).clamp(min=1), 0.0)
    return per_group.sum() / has_pairs.sum().clamp(min=1)
