"""The `tune` stage: valued pairs in; the best training config, the pairs under the best value
policy, a search record and an HTML page out.

    best_config   JSON object of TrainConfig fields (the train stage's overrides_json takes it as is)
    tuned_pairs   the pairs with `weight` re-derived by the chosen value policy (the same rows)
    report        HTML (core/tuning/report.py); search_dir/search.json holds every trial as JSON

Called by the `tune` component and by `python -m shoprank.trainer.tune_cli` (a KubeRay RayJob);
also usable directly:
    run_tune_stage("valued.parquet", "best.json", "tuned.parquet", "tune.html", "search/",
                   settings=TuneSettings(trials=8, minutes=4))
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from shoprank.core.data.pairs import read_pairs
from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.settings import TuneSettings
from shoprank.core.tuning.space import DEFAULT_SPACE, SearchSpace

log = logging.getLogger(__name__)

SEARCH_RECORD = "search.json"


def run_tune_stage(pairs_path: str | Path, best_config_path: str | Path, tuned_pairs_path: str | Path,
                   report_path: str | Path, search_dir: str | Path, settings: TuneSettings | None = TuneSettings(),
                   space_json: str = "", base: TrainConfig = TrainConfig()) -> dict:
    """Search (or, with settings None, pass the pairs through and choose nothing); return metrics.

    search_dir: Tune's results and trial checkpoints (a local folder or a URI such as s3://...);
    running the stage again on the same folder resumes the same search. space_json: the search
    space (core/tuning/space.py), "" = DEFAULT_SPACE. base: the train stage's config under each
    trial. Errors in the space (also against the base model's layers and positions), settings,
    pairs or cluster address are raised before the teacher and any trial start (search.preflight);
    a search in which every trial failed raises SearchFailedError naming the first errors. A search
    in which no trial failed but none reached its first validation before the time budget ended
    (a busy machine) keeps the defaults, as tuning off does, and says so in the log, the page and
    the metrics (`tune_fallback` 1): a run is not lost because its machine was slow.
    """
    from shoprank.core.tuning.report import render_search_report

    pairs = read_pairs(pairs_path)
    for path in (best_config_path, tuned_pairs_path, report_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    if settings is None:
        log.info("tune stage: tuning is off (0 trials); train gets its own config and the pairs as valued")
        _keep_defaults(pairs, best_config_path, tuned_pairs_path, report_path,
                       "Tuning was off (0 trials): the train stage used its own config and the value stage's weights.")
        return {"trials_run": 0}
    space = SearchSpace.from_json(space_json, base) if space_json else SearchSpace.from_dict(DEFAULT_SPACE, base)

    from shoprank.core.tuning.search import SearchUnscoredError, run_search
    from shoprank.core.valuation.reapply import reapply_policy

    from shoprank.core.training.loop import with_teacher
    from shoprank.core.tuning.search import preflight

    preflight(pairs, space, settings, base)  # the pairs', space's and address's errors first, before the teacher
    # The distillation teacher scores the training rows once: the trials and the train stage reuse the column.
    pairs, _ = with_teacher(pairs, base)
    try:
        result = run_search(pairs, search_dir, space, settings, base)
    except SearchUnscoredError as exc:
        reason = f"{exc}. The train stage uses its own config and the value stage's weights."
        log.warning("tune stage: %s", reason)
        _keep_defaults(pairs, best_config_path, tuned_pairs_path, report_path, reason)  # teacher column kept
        return {"trials_run": 0, "tune_fallback": 1.0}
    record = result.to_dict()
    Path(best_config_path).write_text(json.dumps(result.train_overrides, sort_keys=True))
    reapply_policy(pairs, result.value_policy).to_parquet(tuned_pairs_path, index=False)
    Path(report_path).write_text(render_search_report(record), encoding="utf-8")
    if "://" not in str(search_dir):
        Path(search_dir).mkdir(parents=True, exist_ok=True)
        (Path(search_dir) / SEARCH_RECORD).write_text(json.dumps(record, indent=2, default=str))
    log.info("tune stage: best config %s, value policy %s", json.dumps(result.train_overrides),
             json.dumps(result.value_policy.to_dict()))
    return result.metrics()


def _keep_defaults(pairs, best_config_path, tuned_pairs_path, report_path, reason: str) -> None:
    """No config chosen: empty overrides (the train stage's own config), the pairs as they came, a page saying why."""
    from shoprank.core.tuning.report import render_skipped_report

    Path(best_config_path).write_text("{}")
    pairs.to_parquet(tuned_pairs_path, index=False)
    Path(report_path).write_text(render_skipped_report(reason), encoding="utf-8")
