"""Hyperparameter search benchmark: ASHA (ours, the tune stage's default) vs random search, same space.

    python benchmarks/tuning.py [--quick] [--trials N] [--data FOLDER]

On the built-in sample (or --data: a folder of contract tables, e.g. ../shared/data/esci-us-150):
pairs as the prepare stage builds them, valued as the value stage does (exact KNN-Shapley, weight
policy; embeddings cached under benchmarks/.cache/embeddings). In one Ray runtime, two searches
over the default space (core/tuning/space.py) with the same seed, so both sample the very same
configs in the same order (the first is the train stage's defaults), the same trial count and the
same per-trial budget: random search (FIFO: every trial to max_steps) and ASHA (trials stopped at
rungs). For each: the best validation NDCG@10 (the trials' validation queries), total
trial-seconds and optimizer steps of all trials, wall seconds. Then the train stage's fine-tune
(all training pairs, the train stage's epochs; --quick caps it at 60 steps) with each search's
chosen config and with the defaults, same seed, scored on the test queries: test NDCG@10.

The machine may be shared: trial-seconds move with its load (the load averages are printed);
trial CPU-seconds (each trial process's CPU time, all threads) and trial steps much less so. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EMBEDDING_CACHE = HERE / ".cache" / "embeddings"
SEED = 0


def valued_pairs(data: str | None, workdir: Path):
    """The pairs of the sample (or data), valued as the value stage does."""
    import pandas as pd

    from shoprank.core.data.pairs import build_pairs, write_pairs
    from shoprank.core.data.schema import read_tables
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample
    from shoprank.core.stages.value import ValueStageConfig, run_value_stage

    tables = read_tables(data) if data else generate_sample(SampleConfig(seed=SEED)).tables
    write_pairs(build_pairs(tables), workdir / "pairs.parquet")
    run_value_stage(workdir / "pairs.parquet", workdir / "valued.parquet", None,
                    ValueStageConfig.build(seed=SEED, cache_dir=str(EMBEDDING_CACHE)))
    return pd.read_parquet(workdir / "valued.parquet")


def search(pairs, workdir: Path, scheduler: str, settings: dict) -> dict:
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.tuning.search import run_search
    from shoprank.core.tuning.settings import TuneSettings
    from shoprank.core.tuning.space import DEFAULT_SPACE

    load = os.getloadavg()[0]
    result = run_search(pairs, workdir / scheduler, DEFAULT_SPACE, TuneSettings(scheduler=scheduler, **settings),
                        TrainConfig(seed=SEED))
    metrics = result.metrics()
    return {"best_validation_ndcg": metrics["best_ndcg@10"], "trial_seconds": metrics["trial_seconds"],
            "trial_cpu_seconds": metrics["trial_cpu_seconds"],
            "trial_steps": sum(t.steps for t in result.trials), "wall_seconds": metrics["wall_seconds"],
            "stopped_early": metrics["trials_stopped_early"], "failed": metrics["trials_failed"],
            "best_trial": result.best.number, "best_params": result.best.params, "load_before": round(load, 1),
            "curves": {t.number: [round(h["ndcg@10"], 4) for h in t.history] for t in result.trials}}


def test_ndcg(pairs, params: dict, max_steps: int | None) -> dict:
    """The train stage's fine-tune with params (TrainConfig overrides + value policy), test NDCG@10."""
    from shoprank.core.evaluation.metrics import rank_metrics
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.loop import train
    from shoprank.core.tuning.space import split_params
    from shoprank.core.valuation.reapply import reapply_policy

    overrides, policy = split_params(params)
    config = TrainConfig(**{**overrides, "seed": SEED, "max_steps": max_steps})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = train(reapply_policy(pairs, policy), Path(tmp) / "hf", config)
        seconds = time.perf_counter() - started
        test = pairs[pairs["split"] == "test"].copy()
        test["score"] = Reranker.load(Path(tmp) / "hf").score(test)  # the structured path evaluate and serving take
    return {"test_ndcg": round(float(rank_metrics(test, "score")["ndcg@10"]), 4),
            "validation_ndcg": round(float(result["validation_ndcg@10"]), 4), "steps": result["steps"],
            "train_seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 trials of at most 20 steps; final fine-tunes of 60 steps")
    parser.add_argument("--trials", type=int, default=0, help="trials per search (default 8, 4 with --quick)")
    parser.add_argument("--data", default=None, help="a folder of contract tables (default: the built-in sample)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("shoprank.core.tuning").setLevel(logging.INFO)
    import ray

    from shoprank.core.tuning.runtime import local_temp_dir

    trials = args.trials or (4 if args.quick else 8)
    settings = dict(trials=trials, minutes=120, seed=SEED, **(dict(max_steps=20, max_pairs=1200) if args.quick else {}))
    final_steps = 60 if args.quick else None
    with tempfile.TemporaryDirectory(prefix="tuning-bench-") as tmp:
        workdir = Path(tmp)
        pairs = valued_pairs(args.data, workdir)
        with local_temp_dir(workdir / "ray") as temp:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, _temp_dir=str(temp))
            try:
                runs = {name: search(pairs, workdir, name, settings) for name in ("fifo", "asha")}
            finally:
                ray.shutdown()
        random_run, asha_run = runs["fifo"], runs["asha"]
        finals: dict = {}
        for name, params in (("defaults", {}), ("random", random_run["best_params"]), ("asha", asha_run["best_params"])):
            same = next((k for k, v in finals.items() if v["params"] == params), None)
            finals[name] = dict(finals[same]) if same else {"params": params, **test_ndcg(pairs, params, final_steps)}
            print(f"{name:8s} test NDCG@10 {finals[name]['test_ndcg']:.4f}  (validation {finals[name]['validation_ndcg']:.4f}, "
                  f"{finals[name]['steps']} steps{', same config as ' + same if same else ''})", flush=True)
    ratio = asha_run["trial_seconds"] / random_run["trial_seconds"]
    step_ratio = asha_run["trial_steps"] / random_run["trial_steps"]
    cpu_ratio = asha_run["trial_cpu_seconds"] / random_run["trial_cpu_seconds"]
    gap = random_run["best_validation_ndcg"] - asha_run["best_validation_ndcg"]
    print(f"\n{trials} trials each, same space and seed; per trial at most {settings.get('max_steps', 30)} steps")
    for name, run in (("random", random_run), ("asha", asha_run)):
        print(f"{name:7s} best validation NDCG@10 {run['best_validation_ndcg']:.4f} (trial {run['best_trial']}), "
              f"{run['trial_seconds']:.0f} trial-seconds ({run['trial_cpu_seconds']:.0f} CPU-seconds), "
              f"{run['trial_steps']} trial steps, {run['stopped_early']} "
              f"stopped early, load {run['load_before']}")
    print(f"ASHA / random: trial-seconds {ratio:.2f}x, trial CPU-seconds {cpu_ratio:.2f}x, trial steps "
          f"{step_ratio:.2f}x; best validation NDCG@10 "
          f"{gap:+.4f} behind (targets: <= 0.5x and within 0.005)")
    print(json.dumps({
        "quick": args.quick, "data": args.data or "sample", "trials": trials, "seed": SEED,
        "best_ndcg_asha": asha_run["best_validation_ndcg"], "best_ndcg_random": random_run["best_validation_ndcg"],
        "test_ndcg_asha": finals["asha"]["test_ndcg"], "test_ndcg_random": finals["random"]["test_ndcg"],
        "ndcg_defaults": finals["defaults"]["test_ndcg"], "validation_ndcg_defaults": finals["defaults"]["validation_ndcg"],
        "trial_seconds_asha": asha_run["trial_seconds"], "trial_seconds_random": random_run["trial_seconds"],
        "trial_seconds_ratio": round(ratio, 3), "trial_cpu_seconds_asha": asha_run["trial_cpu_seconds"],
        "trial_cpu_seconds_random": random_run["trial_cpu_seconds"], "trial_cpu_seconds_ratio": round(cpu_ratio, 3),
        "trial_steps_asha": asha_run["trial_steps"],
        "trial_steps_random": random_run["trial_steps"], "trial_steps_ratio": round(step_ratio, 3),
        "asha_gap": round(gap, 4), "best_params_asha": asha_run["best_params"],
        "best_params_random": random_run["best_params"], "final_max_steps": final_steps,
        "wall_seconds": {"asha": asha_run["wall_seconds"], "random": random_run["wall_seconds"]},
        "curves_random": random_run["curves"], "curves_asha": asha_run["curves"],
    }, default=str))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
