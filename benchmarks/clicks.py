"""Clicks benchmark (issue 30): click labels vs human judgments, and a personalised reranker vs the plain one.

    python benchmarks/clicks.py [--quick] [--steps N] [--seed S] [--taste-strength X] [--logging-error X]

One sample shop with shoppers' tastes and a click log, every model the same all-MiniLM-L6-v2
cross-encoder fine-tuned with the same TrainConfig (same steps, seed, loss), in one run:

1. Labels. Three models, each on the train split's queries, scored on the human-judged test
   queries (NDCG@10): `human` (the judgments table), `clicks_debiased` (labels from the click log,
   core/clicks: PBM propensities by EM, inverse-propensity click rates, confidence weights) and
   `clicks_raw` (the same pairs and weights, graded by raw CTR instead, mapped onto the same grade
   histogram so only the ordering differs). BM25 is the named baseline.
2. Personalisation. Two models on the train queries' sessions (core/clicks/sessions.py: labels
   bought 3 / clicked 2 / neither 0, skips weighted by their rank's examination probability):
   `plain` (no history) and `personalised` (the shopper's recent items after the query,
   core/text/shopper_history.py). Both, and BM25, rank each held-out test session's shown
   results; NDCG@10 and MRR of the bought and clicked products, for shoppers with and without a
   history before the session.

The last line printed is one JSON object. Figures move with the sample's size and the steps: a
--quick run (150 queries, 60 steps) is a smoke test, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("benchmarks.clicks")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="150 queries, 60 steps per model (--steps overrides)")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per model (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--taste-strength", type=float, default=1.5)
    parser.add_argument("--shoppers", type=int, default=300)
    parser.add_argument("--sessions-per-query", type=float, default=8.0)
    parser.add_argument("--logging-error", type=float, default=0.5,
                        help="share of the logging ranker's noise that repeats per query (its persistent mistakes)")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries = 150
    args.steps = args.steps or (60 if args.quick else 300)
    return args


def train_config(args, shopper_history: bool = False, max_length: int = 64):
    from shoprank.core.training.config import TrainConfig

    return TrainConfig(epochs=3, max_steps=args.steps, batch_size=32, max_length=max_length, seed=args.seed,
                       checkpoint_every=0, log_every=1000, patience=0, shopper_history=shopper_history)


def train_and_score(train_frame, eval_frame, out_dir: Path, config) -> tuple[np.ndarray, float]:
    """Fine-tune on train_frame's train/validation splits; scores of eval_frame's rows, and minutes."""
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.training.loop import train

    started = time.perf_counter()
    train(train_frame, out_dir, config)
    minutes = (time.perf_counter() - started) / 60
    ranker = Reranker.load(out_dir, device="cpu", precision="fp32")
    return np.asarray(ranker.score(eval_frame.sort_values(["query_id", "product_id"])), dtype=float), minutes


def raw_ctr_pairs(click_pairs, tables, fit):
    """click_pairs relabelled by raw CTR, mapped onto the debiased labels' histogram (same grade counts)."""
    from scipy.stats import rankdata

    from shoprank.core.clicks.labels import click_evidence, query_key

    evidence = click_evidence(tables["interactions"], fit).reset_index()
    evidence["query_key"] = query_key(evidence["query"])
    keyed = tables["queries"].assign(query_key=query_key(tables["queries"]["query"]))[["query_id", "query_key"]]
    ctr = keyed.merge(evidence[["query_key", "product_id", "ctr"]], on="query_key").drop_duplicates(
        ["query_id", "product_id"]).set_index(["query_id", "product_id"])["ctr"]
    raw = ctr.reindex(list(zip(click_pairs["query_id"], click_pairs["product_id"]))).to_numpy()
    order = (rankdata(raw, method="ordinal") - 1).astype(int)
    return click_pairs.assign(label=np.sort(click_pairs["label"].to_numpy())[order].astype("int64"))


def main(argv=None) -> dict:
    import pandas as pd

    from shoprank.core.clicks.personalise import sessions_table
    from shoprank.core.clicks.propensity import fit_pbm
    from shoprank.core.clicks.sessions import session_metrics
    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample
    from shoprank.core.evaluation.metrics import rank_metrics
    from shoprank.core.ranking.bm25 import bm25_scores

    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    sample = generate_sample(SampleConfig(
        seed=args.seed, n_queries=args.queries, taste_strength=args.taste_strength, n_shoppers=args.shoppers,
        sessions_per_query=args.sessions_per_query, logging_error=args.logging_error))
    tables = sample.tables
    human = build_pairs(tables, clicks_policy="human")
    clicks = build_pairs(tables, clicks_policy="clicks")
    fit = fit_pbm(tables["interactions"])
    raw = raw_ctr_pairs(clicks, tables, fit)
    test = human[human["split"] == "test"].sort_values(["query_id", "product_id"]).reset_index(drop=True)
    results: dict = {"config": {k: v for k, v in vars(args).items()},
                     "examination_fitted": np.round(fit.examination, 3).tolist(),
                     "click_labelled_pairs": len(clicks), "human_pairs": len(human)}
    minutes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in (("human", human), ("clicks_debiased", clicks), ("clicks_raw", raw)):
            scores, minutes[name] = train_and_score(frame, test, Path(tmp) / name, train_config(args))
            results[f"ndcg10_{name}"] = rank_metrics(test.assign(score=scores))["ndcg@10"]
            print(f"{name}: test NDCG@10 {results[f'ndcg10_{name}']:.4f} ({minutes[name]:.1f} min training)", flush=True)
        results["ndcg10_bm25"] = rank_metrics(test.assign(score=bm25_scores(test)))["ndcg@10"]

        sessions = sessions_table(tables, dict(zip(human["query_id"], human["split"])))
        held_out = sessions[sessions["split"] == "test"].sort_values(["query_id", "product_id"]).reset_index(drop=True)
        per_ranker = {"bm25": session_metrics(held_out.assign(score=bm25_scores(held_out)))}
        for name, personal in (("plain", False), ("personalised", True)):
            frame = sessions if personal else sessions.assign(history="")
            scores, minutes[name] = train_and_score(frame, held_out if personal else held_out.assign(history=""),
                                                    Path(tmp) / name, train_config(args, personal, max_length=96))
            per_ranker[name] = session_metrics(held_out.assign(score=scores))
            print(f"{name}: bought NDCG@10 with history {per_ranker[name]['bought_history']['ndcg@10']:.4f}, without "
                  f"{per_ranker[name]['bought_nohistory']['ndcg@10']:.4f} ({minutes[name]:.1f} min training)", flush=True)
    for ranker, metrics in per_ranker.items():
        for key, value in metrics.items():
            results[f"ndcg10_{key}_{ranker}"] = value["ndcg@10"]
            results[f"mrr_{key}_{ranker}"] = value["mrr"]
            results[f"sessions_{key}"] = value["sessions"]
    for outcome in ("bought", "clicked"):
        for group in ("history", "nohistory"):
            results[f"ndcg10_{outcome}_plain_{group}"] = per_ranker["plain"][f"{outcome}_{group}"]["ndcg@10"]
            results[f"ndcg10_{outcome}_personalised_{group}"] = per_ranker["personalised"][f"{outcome}_{group}"]["ndcg@10"]
    results["ratio_clicks_debiased_vs_human"] = results["ndcg10_clicks_debiased"] / results["ndcg10_human"]
    results["gain_personalised_bought_history"] = (results["ndcg10_bought_personalised_history"]
                                                   - results["ndcg10_bought_plain_history"])
    results["gain_personalised_bought_nohistory"] = (results["ndcg10_bought_personalised_nohistory"]
                                                     - results["ndcg10_bought_plain_nohistory"])
    results["train_minutes"] = {k: round(v, 2) for k, v in minutes.items()}
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average"] = list(os.getloadavg())
    _print_table(results, per_ranker)
    print(json.dumps(results, default=float))
    return results


def _print_table(results: dict, per_ranker: dict) -> None:
    print(f"labels (test NDCG@10, human-judged): human {results['ndcg10_human']:.4f}  clicks_debiased "
          f"{results['ndcg10_clicks_debiased']:.4f}  clicks_raw {results['ndcg10_clicks_raw']:.4f}  "
          f"bm25 {results['ndcg10_bm25']:.4f}")
    print(f"{'held-out sessions':<24}" + "".join(f"{name:>14}" for name in per_ranker) + f"{'sessions':>10}")
    for key in per_ranker["plain"]:
        row = "".join(f"{per_ranker[name][key]['ndcg@10']:>14.4f}" for name in per_ranker)
        print(f"{key + ' ndcg@10':<24}{row}{per_ranker['plain'][key]['sessions']:>10}")


if __name__ == "__main__":
    main()
