"""A Ray Tune callback that logs the search as it goes: one line per trial event, and a
"tune: search: <finished>/<trials> trials done (<s>s)" line every 15 s (core/common/progress.py).

Ray is imported inside search_progress(), so importing this module never loads it.
"""

from __future__ import annotations

import logging

from shoprank.core.common.progress import ProgressLog
from shoprank.core.tuning.trainable import FINISHED, METRIC, TIME_ATTR

log = logging.getLogger("shoprank.core.tuning.search")


def trial_number(trial_id: str) -> int:
    """Tune names trials <experiment>_<5 digits>, in the order it creates them."""
    return int(str(trial_id).rsplit("_", 1)[-1])


def search_progress(trials: int):
    """A Ray Tune callback logging each trial's start, reports, end or error, and the count of
    finished trials (of `trials`) at least every 15 s."""
    from ray import tune

    class SearchProgress(tune.Callback):
        def __init__(self, trials: int):
            self.progress = ProgressLog(log, "tune: search", trials, "trials done")

        def on_step_end(self, iteration, trials, **info):
            if self.progress.done < self.progress.total:
                self.progress.advance(0)  # a line when the interval has passed, even with no trial finished

        def on_trial_start(self, iteration, trials, trial, **info):
            params = ", ".join(f"{k}={_short(v)}" for k, v in sorted(trial.config.items()))
            log.info("tune: trial %d started: %s", trial_number(trial.trial_id), params)

        def on_trial_result(self, iteration, trials, trial, result, **info):
            if METRIC in result and not result.get(FINISHED):
                log.info("tune: trial %d step %d validation ndcg@10 %.4f", trial_number(trial.trial_id),
                         result.get(TIME_ATTR, -1), result[METRIC])

        def on_trial_complete(self, iteration, trials, trial, **info):
            last = trial.last_result or {}
            how = "finished" if last.get(FINISHED) else "stopped"
            log.info("tune: trial %d %s at step %s", trial_number(trial.trial_id), how, last.get(TIME_ATTR, "-"))
            self.progress.advance(1)

        def on_trial_error(self, iteration, trials, trial, **info):
            log.warning("tune: trial %d failed (the search goes on); its error is in %s", trial_number(trial.trial_id),
                        trial.path)
            self.progress.advance(1)

    return SearchProgress(trials)


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
