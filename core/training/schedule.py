"""The learning-rate schedule (linear warmup then decay, fitted into a minutes budget) and AdamW parameter groups."""

from __future__ import annotations

class LinearWarmupDecay:
    """lr multiplier: linear 0 -> 1 over warmup steps, then linear 1 -> 0 at total steps.

    Under a minutes budget the schedule follows whichever budget is further along: with
    `budget_spent` (the share of the minutes used) ahead of the steps, the lr still warms up over
    the first warmup_ratio of the minutes and reaches 0 as they run out, instead of stopping
    mid-warmup when the minutes end long before the planned steps (a large catalogue on a CPU).
    """

    def __init__(self, warmup_steps: int, total_steps: int):
        self.warmup_steps = warmup_steps
        self.total_steps = max(total_steps, 1)
        self.budget_spent = 0.0  # stays 0 without a minutes budget; saved with the scheduler's state

    def effective_step(self, step: float) -> float:
        return max(step, self.budget_spent * self.total_steps)

    def expected_steps(self, step: int) -> float:
        """Steps the run will take: the planned total, or fewer where the minutes run out first
        (the rate so far: `step` steps took `budget_spent` of the minutes)."""
        if self.budget_spent <= 0:
            return float(self.total_steps)
        return min(float(self.total_steps), step / self.budget_spent)

    def completed(self, step: float) -> float:
        """Share of the schedule gone through: 1 when the lr has reached 0."""
        return min(1.0, self.effective_step(step) / self.total_steps)

    def __call__(self, step: float) -> float:
        step = self.effective_step(step)
        if step < self.warmup_steps:
            return (step + 1) / (self.warmup_steps + 1)
        return max(0.0, (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps))


def param_groups(model, weight_decay: float, lr: float, layer_lr_decay: float = 1.0) -> list[dict]:
    """AdamW groups: no decay on biases and LayerNorm; with layer_lr_decay < 1 each layer below
    the head learns at decay^(distance from the top) times lr (embeddings lowest)."""
    import re

    n_layers = int(getattr(model.config, "num_hidden_layers", 0))
    groups: dict[tuple, list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        layer = re.search(r"\.layer\.(\d+)\.", name)
        depth = 0 if "embeddings" in name else int(layer.group(1)) + 1 if layer else n_layers + 1
        scale = layer_lr_decay ** (n_layers + 1 - depth)
        no_decay = param.ndim < 2 or "LayerNorm" in name or name.endswith(".bias")
        groups.setdefault((scale, no_decay), []).append(param)
    return [{"params": params, "lr": lr * scale, "weight_decay": 0.0 if no_decay else weight_decay}
            for (scale, no_decay), params in sorted(groups.items(), key=lambda kv: (-kv[0][0], kv[0][1]))]
