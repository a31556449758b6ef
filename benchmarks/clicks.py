"""Clicks benchmark (issue 30): click labels vs human judgments, and a personalised reranker vs the plain one.

    python benchmarks/clicks.py [--quick] [--steps N] [--seed S] [--taste-strength X] [--logging-error X]
                                [--personalisation-only]

One sample shop with shoppers' tastes and a click log, every model the same all-MiniLM-L6-v2
cross-encoder fine-tuned with the same TrainConfig (same steps, seed, loss), in one run:

1. Labels. Three models, each on the train split's queries, scored on the human-judged test
   queries (NDCG@10): `human` (the judgments table), `clicks_debiased` (labels from the click log,
   core/clicks: PBM propensities by EM, inverse-propensity click rates, confidence weights) and
   `clicks_raw` (the same pairs and weights, graded by raw CTR instead, mapped onto the same grade
   histogram so only the ordering differs). BM25 is the named baseline.
2. Personalisation, as `shoprank run` chooses between the two: `plain` is the `human` model above
   (what `--no-personalise` ships); `personalised` is trained by the train stage's own path
   (core/clicks/personalise.py personalised_training): the judged pairs plus the train queries'
   sessions, capped at 3000 rows (core/clicks/sessions.py: labels bought 3 / clicked 2 / neither
   0, skips weighted by their rank's examination probability), the shopper's recent items after
   the query (core/text/shopper_history.py), 32 more tokens, no distillation, the same steps.
   Each, and BM25, ranks each held-out test session's shown results; NDCG@10 and MRR of the bought
   and clicked products, for shoppers with and without a history before the session.
   `personalised_text_only` is the personalised model without the history (what it serves to a
   request without shopper context): its gap to `plain` is the session data, its gap to
   `personalised` the history.

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
    parser.add_argument("--personalisation-only", action="store_true",
                        help="train only the human-judged and the personalised model (part 2; part 1's click-label "
                             "models and their keys are left out)")
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


def score_model(model_dir: Path, frame) -> np.ndarray:
    """Scores of frame's rows (in row order) by the model in model_dir."""
    from shoprank.core.ranking.reranker import Reranker

    return np.asarray(Reranker.load(model_dir, device="cpu", precision="fp32").score(frame), dtype=float)


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
    from shoprank.core.clicks.personalise import personalised_training, sessions_table
    from shoprank.core.clicks.propensity import fit_pbm
    from shoprank.core.clicks.sessions import session_metrics
    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample
    from shoprank.core.evaluation.metrics import rank_metrics
    from shoprank.core.ranking.bm25 import bm25_scores
    from shoprank.core.training.loop import train

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
        label_models = (("human", human),) if args.personalisation_only else (
            ("human", human), ("clicks_debiased", clicks), ("clicks_raw", raw))
        for name, frame in label_models:
            scores, minutes[name] = train_and_score(frame, test, Path(tmp) / name, train_config(args))
            results[f"ndcg10_{name}"] = rank_metrics(test.assign(score=scores))["ndcg@10"]
            print(f"{name}: test NDCG@10 {results[f'ndcg10_{name}']:.4f} ({minutes[name]:.1f} min training)", flush=True)
        results["ndcg10_bm25"] = rank_metrics(test.assign(score=bm25_scores(test)))["ndcg@10"]

        sessions = sessions_table(tables, dict(zip(human["query_id"], human["split"])))
        held_out = sessions[sessions["split"] == "test"].sort_values(["query_id", "product_id"]).reset_index(drop=True)
        plain_text = held_out.assign(history="")
        per_ranker = {"bm25": session_metrics(held_out.assign(score=bm25_scores(held_out)))}
        # plain: the human-judged model above, what `shoprank run --no-personalise` ships, on the query text.
        per_ranker["plain"] = session_metrics(held_out.assign(score=score_model(Path(tmp) / "human", plain_text)))
        # personalised: what `shoprank run` ships with a click log (core/clicks/personalise.py, the train stage's path).
        frame, config, used = personalised_training(human, train_config(args), sessions)
        if not used["personalised"]:
            raise SystemExit("the sample's sessions did not pass the personalisation threshold; more shoppers' history needed")
        results["session_rows_trained"] = int(used["session_rows_trained"])
        began = time.perf_counter()
        train(frame, Path(tmp) / "personalised", config)
        minutes["personalised"] = (time.perf_counter() - began) / 60
        per_ranker["personalised_text_only"] = session_metrics(
            held_out.assign(score=score_model(Path(tmp) / "personalised", plain_text)))
        per_ranker["personalised"] = session_metrics(
            held_out.assign(score=score_model(Path(tmp) / "personalised", held_out)))
        for name in ("plain", "personalised"):
            print(f"{name}: bought NDCG@10 with history {per_ranker[name]['bought_history']['ndcg@10']:.4f}, without "
                  f"{per_ranker[name]['bought_nohistory']['ndcg@10']:.4f}", flush=True)
    for ranker, metrics in per_ranker.items():
        for key, value in metrics.items():
            results[f"ndcg10_{key}_{ranker}"] = value["ndcg@10"]
            results[f"mrr_{key}_{ranker}"] = value["mrr"]
            results[f"sessions_{key}"] = value["sessions"]
    for outcome in ("bought", "clicked"):
        for group in ("history", "nohistory"):
            results[f"ndcg10_{outcome}_plain_{group}"] = per_ranker["plain"][f"{outcome}_{group}"]["ndcg@10"]
            results[f"ndcg10_{outcome}_personalised_{group}"] = per_ranker["personalised"][f"{outcome}_{group}"]["ndcg@10"]
    if "ndcg10_clicks_debiased" in results:
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
    print("labels (test NDCG@10, human-judged): " + "  ".join(
        f"{name} {results[f'ndcg10_{name}']:.4f}" for name in ("human", "clicks_debiased", "clicks_raw", "bm25")
        if f"ndcg10_{name}" in results))
    print(f"{'held-out sessions':<24}" + "".join(f"{name:>24}" for name in per_ranker) + f"{'sessions':>10}")
    for key in per_ranker["plain"]:
        row = "".join(f"{per_ranker[name][key]['ndcg@10']:>24.4f}" for name in per_ranker)
        print(f"{key + ' ndcg@10':<24}{row}{per_ranker['plain'][key]['sessions']:>10}")


if __name__ == "__main__":
    main()
