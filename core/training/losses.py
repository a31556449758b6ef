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


def ranking_loss(name: str, logits, labels, weights, groups, max_label: int = 3, n_groups: int | None = None):
    """Mean loss of one batch. logits, labels, weights: (n,) float; groups: (n,) int query slot
    (rows sharing a slot are ranked against each other by the list losses); n_groups: more than
    the largest slot, or None to read it from groups (which waits for the device).

    No loss reads a value back from the device when n_groups is given, so the host never waits
    for the GPU and the whole computation can be captured in a CUDA graph."""
    if name == "pointwise":
        return pointwise_loss(logits, labels, weights, max_label)
    if name == "listwise":
        return listwise_loss(logits, labels, weights, groups, n_groups)
    if name == "pairwise":
        return pairwise_loss(logits, labels, weights, groups)
    raise ValueError(f"loss must be one of {LOSSES}, got {name!r}")


def pointwise_loss(logits, labels, weights, max_label: int = 3):
    import torch.nn.functional as F

    targets = labels / max_label
    per_example = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (per_example * weights).mean()


def listwise_loss(logits, labels, weights, groups, n_groups: int | None = None):
    import torch

    gains = torch.pow(2.0, labels) - 1.0
    log_w = torch.log(weights)
    if n_groups is None:
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
    # Mean over the lists that have something to rank; 0 (and no gradient) when none has.
    has_target = group_mass > 0
    return torch.where(has_target, per_group, 0.0).sum() / has_target.sum().clamp(min=1)


def pairwise_loss(logits, labels, weights, groups):
    import torch
    import torch.nn.functional as F

    gains = torch.pow(2.0, labels) - 1.0
    same_group = groups[:, None] == groups[None, :]
    gain_gap = gains[:, None] - gains[None, :]
    valid = same_group & (gain_gap > 0)
    margin = logits[:, None] - logits[None, :]
    pair_loss = F.softplus(-margin) * (weights[:, None] * weights[None, :] * gain_gap)
    # 0 (and no gradient) when no pair has different labels.
    return torch.where(valid, pair_loss, 0.0).sum() / torch.where(valid, gain_gap, 0.0).sum().clamp(min=1e-12)
