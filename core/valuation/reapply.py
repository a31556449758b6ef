"""Re-apply a value policy to pairs that were already valued (their `value` column), without valuing again.

The value stage turns values into the `weight` column once; a search over the policy (the
tuning stage) asks "what if the lowest 20% were dropped instead?" many times. Each answer is
`policy_weights` on the stored values of the train rows, so it costs milliseconds, not a
valuation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.valuation.config import POLICIES, PolicyConfig
from shoprank.core.valuation.policy import policy_weights

# "as_valued" keeps the weights the value stage wrote; the others are PolicyConfig policies.
AS_VALUED = "as_valued"
SEARCHABLE_POLICIES = (AS_VALUED, *POLICIES)


@dataclasses.dataclass(frozen=True)
class ValuePolicyChoice:
    """One point of the policy search: which policy, over which share of the train rows.

    policy: "as_valued" (the weights already in the table), "none" (every weight 1), "weight"
        (the lowest-valued `share` of train rows ramp from `floor` up to 1) or "drop" (the
        lowest-valued `share` get weight 0).
    share: fraction of train rows the policy touches, in [0, 1); ignored by as_valued and none.
    floor: the smallest weight of the "weight" policy, in [0, 1].
    """

    policy: str = AS_VALUED
    share: float = 0.0
    floor: float = 0.1

    def __post_init__(self):
        if self.policy not in SEARCHABLE_POLICIES:
            raise ConfigError(f"value policy: expected one of {SEARCHABLE_POLICIES}, got {self.policy!r}")
        if self.policy != AS_VALUED:
            PolicyConfig(policy=self.policy, floor=self.floor, fraction=self.share)  # its range checks

    def to_dict(self) -> dict:
        """The JSON form; share and floor only where the policy reads them."""
        out = {"value_policy": self.policy}
        if self.policy in ("weight", "drop"):
            out["value_share"] = self.share
        if self.policy == "weight":
            out["value_floor"] = self.floor
        return out


def reapply_policy(pairs, choice: ValuePolicyChoice):
    """A copy of valued pairs whose train rows carry the weights `choice` gives their values.

    pairs: a pairs table with `split`, and `value` on the train rows (as the value stage writes).
    Validation and test rows keep weight 1. Rows the value stage already dropped stay absent.
    Raises SchemaError when a policy other than as_valued needs values the table lacks.
    """
    if choice.policy == AS_VALUED:
        return pairs if "weight" in pairs.columns else pairs.assign(weight=1.0)
    train = (pairs["split"] == "train").to_numpy()
    if "value" not in pairs.columns:
        raise SchemaError(f"value policy {choice.policy!r}: expected a `value` column (pairs from the value stage), "
                          f"got columns {list(pairs.columns)}")
    values = pairs.loc[train, "value"].to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        raise SchemaError(f"value policy {choice.policy!r}: expected a value on every train row, "
                          f"{int(np.isnan(values).sum())} of {len(values)} are missing")
    weights = np.ones(len(pairs))
    weights[train] = policy_weights(values, PolicyConfig(policy=choice.policy, floor=choice.floor, fraction=choice.share))
    return pairs.assign(weight=weights)
