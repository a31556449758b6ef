"""Ranking losses for a one-logit cross-encoder over graded labels (0..3), with example weights.

A weight acts as a multiplicity: an example with weight w counts as w copies of itself, so
weight 1 everywhere gives the textbook loss and weight 0 removes an example. Weights arrive
normalised to mean 1 over the training rows.

- pointwise: binary cross-entropy against label / max_label (the usual cross-encoder floor).
- listwise:  ListNet, cross-entropy between the gain distribution (2^label - 1) of a query's
             candidates and the softmax of their scores.
- pairwise:  RankNet, logistic loss on score differences of every pair with different labels in
             a query, each pair weighted by its gain difference.
"""

from __future__ import annotations

LOSSES = ("pointwise", "listwise", "pairwise")


def ranking_loss(name: str, logits, labels, weights, groups, max_label: int = 3):
    """Mean loss of one batch. logits, labels, weights: (n,) float; groups: (n,) int query slot
    (rows sharing a slot are ranked against each other by the list losses)."""
    if name == "pointwise":
        return pointwise_loss(logits, labels, weights, max_label)
    if name == "listwise":
        return listwise_loss(logits, labels, weights, groups)
    if name == "pairwise":
        return pairwise_loss(logits, labels, weights, groups)
    raise ValueError(f"loss must be one of {LOSSES}, got {name!r}")


def pointwise_loss(logits, labels, weights, max_label: int = 3):
    import torch.nn.functional as F

    targets = labels / max_label
    per_example = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (per_example * weights).mean()


def listwise_loss(logits, labels, weights, groups):
    import torch

    gains = torch.pow(2.0, labels) - 1.0
    log_w = torch.log(weights)
    n_groups = int(groups.max().item()) + 1
    index = groups.long()
    # log(e^s_i / sum_j w_j e^s_j): the softmax over a list where item j appears w_j times.
    shifted = logits + log_w
    group_max = torch.full((n_groups,), float("-inf"), dtype=logits.dtype, device=logits.device)
    group_max = group_max.scatter_reduce(0, index, shifted.detach(), reduce="amax")
    exp = torch.exp(shifted - group_max[index])
    denom = torch.zeros(n_groups, dtype=logits.dtype, device=logits.device).index_add(0, index, exp)
    log_q = logits - group_max[index] - torch.log(denom[index])
    target_mass = weights * gains
    group_mass = torch.zeros(n_groups, dtype=logits.dtype, device=logits.device).index_add(0, index, target_mass)
    p = target_mass / group_mass[index].clamp(min=1e-12)
    per_group = torch.zeros(n_groups, dtype=logits.dtype, device=logits.device).index_add(0, index, -p * log_q)
    has_target = group_mass > 0
    if not bool(has_target.any()):
        return logits.sum() * 0.0
    return per_group[has_target].mean()


def pairwise_loss(logits, labels, weights, groups):
    import torch
    import torch.nn.functional as F

    gains = torch.pow(2.0, labels) - 1.0
    same_group = groups[:, None] == groups[None, :]
    gain_gap = gains[:, None] - gains[None, :]
    valid = same_group & (gain_gap > 0)
    if not bool(valid.any()):
        return logits.sum() * 0.0
    margin = logits[:, None] - logits[None, :]
    pair_weight = (weights[:, None] * weights[None, :] * gain_gap)[valid]
    return (F.softplus(-margin[valid]) * pair_weight).sum() / gain_gap[valid].sum()
