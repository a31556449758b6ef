"""What the drift check compares and how: per-signal methods and thresholds, sampling, family-wise error.

Every signal is tested with an Evidently drift method. Methods that return a p-value ("ks",
"z", "chisquare_2sample", ...) are corrected for the number of signals tested (Bonferroni:
each test at family_alpha / m), so over all signals of one check the chance of a false alarm
when nothing changed is at most family_alpha. Methods that return a distance ("wasserstein",
"jensenshannon", "psi", ...) keep their own threshold (Evidently's default unless one is
set) and are not part of that guarantee.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping

from shoprank.core.common.errors import ConfigError

# Evidently drift methods whose score is a p-value (drift when below the threshold).
P_VALUE_METHODS = frozenset({
    "ks", "z", "chisquare", "chisquare_2sample", "fisher_exact", "g_test", "mannw", "t_test",
    "cramer_von_mises", "anderson", "es", "TVD", "empirical_mmd",
})
# Evidently drift methods whose score is a distance (drift when at or above the threshold).
DISTANCE_METHODS = frozenset({
    "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger", "ed",
})
# Methods of the query-embedding signal (see embeddings.py).
EMBEDDING_METHODS = frozenset({"classifier", "mmd"})
SEVERITIES = ("none", "low", "medium", "high")


@dataclasses.dataclass(frozen=True)
class SignalSpec:
    """How one signal is tested.

    method: an Evidently drift method name ("" = the signal's default; see signals.SIGNALS).
    threshold: the method's threshold (None = family_alpha / m for p-value methods, Evidently's
        default for distance methods).
    enabled: False leaves the signal out of the check.
    """

    method: str = ""
    threshold: float | None = None
    enabled: bool = True


@dataclasses.dataclass(frozen=True)
class DriftConfig:
    """Knobs of a drift check; every default is what `shoprank drift` uses.

    seed: every sample (searches, units, embedding queries, candidate scores) derives from it.
    family_alpha: the chance of a false alarm over all p-value signals of one check when both
        windows come from the same distribution (Bonferroni over the m signals tested).
    max_units: units (distinct queries, requests) each test sees per window at most; larger
        windows are sampled down, which bounds the run time, the HTML size and the smallest
        shift called drift. The report states the sizes used.
    min_units: fewer units than this in either window leaves a signal "not enough data".
    ctr_k: the k of CTR@k (share of searches with a click in the top k).
    category_depth: levels of the "A > B > C" category path compared (3: "A > B > C").
    top_values: categories and brands beyond the reference's most frequent `top_values` (and
        those seen fewer than 5 times there) are compared as one "(other)" value, so rare values
        do not make sparse tables.
    embedding_max_queries: distinct queries encoded per window at most (encoding is the slow part).
    embedding_cache_dir: a folder for cached embeddings (None = none).
    signals: per-signal overrides by name, e.g. {"shown.price": SignalSpec("wasserstein", 0.1)}.
    """

    seed: int = 0
    family_alpha: float = 0.01
    max_units: int = 5000
    min_units: int = 30
    ctr_k: int = 3
    category_depth: int = 3
    top_values: int = 40
    embedding_max_queries: int = 300
    embedding_cache_dir: str | None = None
    signals: Mapping[str, SignalSpec] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        checks = [
            (0.0 < self.family_alpha < 1.0, "0 < family_alpha < 1", self.family_alpha),
            (self.max_units >= 10, "max_units >= 10", self.max_units),
            (self.min_units >= 2, "min_units >= 2", self.min_units),
            (self.ctr_k >= 1, "ctr_k >= 1", self.ctr_k),
            (self.category_depth >= 1, "category_depth >= 1", self.category_depth),
            (self.top_values >= 1, "top_values >= 1", self.top_values),
            (self.embedding_max_queries >= 10, "embedding_max_queries >= 10", self.embedding_max_queries),
        ]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"drift config: expected {expected}, got {got!r}")
        from shoprank.core.drift.signals import SIGNALS

        unknown = sorted(set(self.signals) - set(SIGNALS))
        if unknown:
            raise ConfigError(f"drift config: expected signal names from {sorted(SIGNALS)}, got unknown {unknown}")
        for name, spec in self.signals.items():
            allowed = SIGNALS[name].methods()
            if spec.method and spec.method not in allowed:
                raise ConfigError(f"drift config: signal '{name}': expected a method from {sorted(allowed)}, "
                                  f"got '{spec.method}'")
            if spec.threshold is not None and not spec.threshold > 0:
                raise ConfigError(f"drift config: signal '{name}': expected a threshold > 0, got {spec.threshold}")

    def spec(self, name: str) -> SignalSpec:
        """The signal's spec with its default method filled in."""
        from shoprank.core.drift.signals import SIGNALS

        given = self.signals.get(name, SignalSpec())
        return dataclasses.replace(given, method=given.method or SIGNALS[name].default_method)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["signals"] = {k: dataclasses.asdict(v) for k, v in self.signals.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DriftConfig":
        """From a JSON-like mapping; `signals` maps names to {"method", "threshold", "enabled"}."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ConfigError(f"drift config: expected keys from {sorted(fields)}, got unknown {unknown}")
        data = dict(data)
        signals = {}
        for name, spec in (data.pop("signals", None) or {}).items():
            if not isinstance(spec, Mapping) or set(spec) - {"method", "threshold", "enabled"}:
                raise ConfigError(f"drift config: signal '{name}': expected an object with method, threshold, "
                                  f"enabled; got {spec!r}")
            signals[name] = SignalSpec(**spec)
        return cls(signals=signals, **data)

    @classmethod
    def from_json(cls, text: str) -> "DriftConfig":
        """From a JSON object string ("" or "{}" = the defaults)."""
        if not text.strip():
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"drift config: expected a JSON object, got invalid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"drift config: expected a JSON object, got {type(data).__name__}")
        return cls.from_dict(data)
