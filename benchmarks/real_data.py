"""Real-data benchmark: every free baseline and each trained candidate on a shop's own judgments.

    python benchmarks/real_data.py --data ../shared/data/esci-us-150 --data sample [--budget-minutes M]
                                   [--candidates distilled,labels_only] [--quick]

For each data set (a folder with products, queries and judgments, or `sample` for the built-in
sample): the pairs and their query-level split as `shoprank run` makes them (prepare stage), the
baselines BM25, zero-shot (the pretrained encoder's cosine) and MS MARCO (the off-the-shelf
cross-encoder) scored on validation and test, and each candidate fine-tuned on the train split
with `--budget-minutes` of training steps (default: the default run's 3 epochs, no budget):

    distilled    the default TrainConfig: labels plus the MS MARCO teacher's margins (Margin-MSE,
                 core/training/distill.py)
    labels_only  the labels alone (distill_weight 0), as before issue 28

Each candidate also gets its hybrid, `<candidate>+hybrid`: the model's score blended with BM25
and the zero-shot cosine, weights fitted on the validation split (core/ranking/hybrid_fit.py, as
the train stage fits it); `shoprank run` ships the hybrid only when it beat the model alone on
validation by the blend's margin, and `run_shipped` is that choice for the first candidate (the
default run's). The shipped candidate is the one with the best VALIDATION NDCG@10 among each
candidate's choice (test is only reported). The
table gives test NDCG@10, MRR and query counts per ranker, and the p-value of a paired
randomisation test over test queries (scipy.stats.permutation_test, mean NDCG@10 difference,
two-sided) against the best baseline (best on test, the bar of the issue's target). Value-stage
weights are not applied (every training pair has weight 1). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

CANDIDATES = {"distilled": {}, "labels_only": {"distill_weight": 0.0}}
BASELINES = ("bm25", "zeroshot", "msmarco")
SPLITS = ("validation", "test")


def load_pairs(data: str, workdir: Path):
    """The pairs table of a data folder (or of the built-in sample) with the run's split."""
    from shoprank.core.data.pairs import read_pairs
    from shoprank.core.stages.prepare import prepare_pairs

    source = data
    if data == "sample":
        from shoprank.core.data.sample.generator import SampleConfig, generate_sample

        source = workdir / "sample"
        generate_sample(SampleConfig()).write(source)
    prepare_pairs(source, workdir / "pairs.parquet")
    return read_pairs(workdir / "pairs.parquet")


def baseline_scores(pairs, cache_dir: str | None = None) -> dict:
    """name -> scores of every pair (BM25's IDF from all judged products, as the evaluate stage)."""
    from shoprank.core.ranking.baselines import msmarco_scores, zeroshot_scores
    from shoprank.core.ranking.bm25 import bm25_scores

    queries, texts = pairs["query"].astype(str).tolist(), pairs["product_text"].astype(str).tolist()
    return {"bm25": bm25_scores(pairs), "zeroshot": zeroshot_scores(queries, texts, cache_dir=cache_dir),
            "msmarco": _cached(cache_dir, "msmarco", queries, texts, msmarco_scores)}


def _cached(cache_dir: str | None, name: str, queries: list, texts: list, score):
    """score(queries, texts), kept in cache_dir under a hash of the pairs (the runs of one data set share it)."""
    if cache_dir is None:
        return score(queries, texts)
    import hashlib

    digest = hashlib.sha256("\x1e".join(q + "\x1f" + t for q, t in zip(queries, texts)).encode()).hexdigest()[:24]
    path = Path(cache_dir) / f"{name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    scores = score(queries, texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, scores)
    return scores


def per_query_ndcg(frame, column: str, relevant: int):
    from shoprank.core.evaluation.metrics import per_query_metrics

    table = per_query_metrics(frame, column, relevant=relevant)
    return table.set_index("query_id")["ndcg@10"].dropna()


def paired_p_value(mine, theirs, seed: int = 0) -> float | None:
    """Two-sided paired randomisation test of the mean per-query difference (None: < 2 queries)."""
    from scipy.stats import permutation_test

    common = mine.index.intersection(theirs.index)
    if len(common) < 2:
        return None
    result = permutation_test((mine[common].to_numpy(), theirs[common].to_numpy()),
                              lambda a, b: np.mean(a - b), permutation_type="samples", n_resamples=9999,
                              alternative="two-sided", random_state=seed)
    return float(result.pvalue)


def train_candidate(pairs, overrides: dict, budget_minutes: float | None, quick: bool) -> tuple:
    """(scores of every held-out pair, the training result) of one candidate."""
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.loop import train

    budget = {"max_steps": 30} if quick else {}
    config = TrainConfig(**{**overrides, **budget, "max_minutes": budget_minutes, "checkpoint_every": 0,
                            "log_every": 50})
    held_out = pairs[pairs["split"].isin(SPLITS)]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = train(pairs, Path(tmp) / "hf", config)
        result["wall_minutes"] = (time.perf_counter() - started) / 60
        scores = Reranker.load(tmp).score(held_out)
    return held_out.assign(score=np.asarray(scores, dtype=np.float64)), result


def fit_hybrid(pairs, held_out, cache_dir: str | None = None) -> tuple:
    """(held_out with the hybrid's scores, the blend) of one candidate, fitted on the validation rows
    of `held_out` (its `score` column is the model's) exactly as the train stage fits it."""
    from shoprank.core.ranking.hybrid_fit import HybridConfig, fit_blend

    by_row = dict(zip(zip(held_out["query_id"], held_out["product_id"]), held_out["score"]))
    model = lambda frame: np.array([by_row[key] for key in zip(frame["query_id"], frame["product_id"])])  # noqa: E731
    blend = fit_blend(pairs, model, HybridConfig(cache_dir=cache_dir))
    scores = blend.score_frame(held_out.reset_index(drop=True), held_out["score"].to_numpy(), cache_dir)
    return held_out.assign(score=np.asarray(scores, dtype=np.float64)), blend


def benchmark(data: str, candidates: dict, budget_minutes: float | None, quick: bool,
              cache_dir: str | None = None) -> dict:
    from shoprank.core.evaluation.metrics import rank_metrics, relevant_label

    with tempfile.TemporaryDirectory() as tmp:
        pairs = load_pairs(data, Path(tmp))
    relevant = relevant_label(pairs["label"])
    started = time.perf_counter()
    scored = pairs.assign(**{f"score_{n}": s for n, s in baseline_scores(pairs, cache_dir).items()})
    baseline_minutes = (time.perf_counter() - started) / 60
    runs, blends, choice = {}, {}, {}
    for name, overrides in candidates.items():
        held_out, result = train_candidate(pairs, overrides, budget_minutes, quick)
        hybrid, blends[name] = fit_hybrid(pairs, held_out, cache_dir)
        choice[name] = f"{name}+hybrid" if blends[name].ships else name
        key = ["query_id", "product_id"]
        for column, frame in ((f"score_{name}", held_out), (f"score_{name}+hybrid", hybrid)):
            scored = scored.merge(frame[key + ["score"]].rename(columns={"score": column}), on=key, how="left")
        runs[name] = runs[f"{name}+hybrid"] = result
    rankers = list(BASELINES) + [r for name in candidates for r in (name, f"{name}+hybrid")]
    table = {}
    for split in SPLITS:
        part = scored[scored["split"] == split]
        table[split] = {r: rank_metrics(part, f"score_{r}", relevant=relevant) for r in rankers}
    shipped = max(choice.values(), key=lambda c: table["validation"][c]["ndcg@10"])
    best_baseline = max(BASELINES, key=lambda b: table["test"][b]["ndcg@10"])
    test = scored[scored["split"] == "test"]
    bar = per_query_ndcg(test, f"score_{best_baseline}", relevant)
    rows = {}
    for r in rankers:
        metrics = table["test"][r]
        rows[r] = {"ndcg@10": metrics["ndcg@10"], "mrr": metrics["mrr"], "valid_ndcg@10": table["validation"][r]["ndcg@10"],
                   "queries": metrics["queries"],
                   "p_vs_best_baseline": None if r == best_baseline else
                   paired_p_value(per_query_ndcg(test, f"score_{r}", relevant), bar)}
        if r in runs:
            dist = runs[r]["distillation"]
            rows[r].update(train_minutes=round(runs[r]["train_seconds"] / 60, 2), steps=runs[r]["steps"],
                           wall_minutes=round(runs[r]["wall_minutes"], 2), stop_reason=runs[r]["stop_reason"],
                           distilled=dist["used"], teacher_minutes=round(dist.get("seconds", 0) / 60, 2))
        if r.endswith("+hybrid"):
            blend = blends[r.removesuffix("+hybrid")]
            rows[r].update(blend_weights=dict(blend.weights), blend_ships=blend.ships, blend_reason=blend.reason)
    return {"data": data, "rankers": rows, "shipped": shipped, "run_shipped": choice[next(iter(candidates))],
            "best_baseline": best_baseline,
            "test_queries": int(test["query_id"].nunique()),
            "validation_queries": int(pairs.loc[pairs["split"] == "validation", "query_id"].nunique()),
            "baseline_minutes": round(baseline_minutes, 2), "budget_minutes": budget_minutes}


def print_table(report: dict) -> None:
    print(f"\n{report['data']}: {report['test_queries']} test / {report['validation_queries']} validation queries, "
          f"training budget {report['budget_minutes'] or 'default (3 epochs)'} min; shipped (best validation "
          f"NDCG@10): {report['shipped']}; `shoprank run` ships: {report['run_shipped']}; best baseline (test): "
          f"{report['best_baseline']}")
    for name, row in report["rankers"].items():
        if "blend_weights" in row:
            print(f"{name}: weights {row['blend_weights']}; {row['blend_reason']}")
    print(f"{'ranker':<20}{'NDCG@10':>9}{'MRR':>8}{'valid':>8}{'p vs best':>11}{'queries':>9}{'train min':>11}"
          f"{'steps':>7}")

    def fmt(v, spec):
        return format(v, spec) if isinstance(v, (int, float)) else format("-", ">" + spec.split(".")[0].lstrip(">"))

    for name, row in report["rankers"].items():
        print(f"{name:<20}{fmt(row['ndcg@10'], '>9.4f')}{fmt(row['mrr'], '>8.4f')}{fmt(row['valid_ndcg@10'], '>8.4f')}"
              f"{fmt(row['p_vs_best_baseline'], '>11.4f')}{fmt(row['queries'], '>9')}"
              f"{fmt(row.get('train_minutes'), '>11.2f')}{fmt(row.get('steps'), '>7')}")
    shipped, best = report["rankers"][report["shipped"]], report["rankers"][report["best_baseline"]]
    print(f"shipped - best baseline: {shipped['ndcg@10'] - best['ndcg@10']:+.4f} NDCG@10 "
          f"(ratio {shipped['ndcg@10'] / best['ndcg@10']:.3f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", required=True, help="data folder, or 'sample' (repeatable)")
    parser.add_argument("--budget-minutes", type=float, default=None, help="training minutes (default: no budget)")
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help=f"comma-separated, of {list(CANDIDATES)}")
    parser.add_argument("--quick", action="store_true", help="30 training steps per candidate (CI size)")
    parser.add_argument("--cache-dir", default=None, help="zero-shot embedding cache (reused across runs)")
    args = parser.parse_args()
    # Progress lines (every 15 s) and the stages' summaries go to stderr; the tables to stdout.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    names = [c for c in args.candidates.split(",") if c]
    unknown = [c for c in names if c not in CANDIDATES]
    if unknown or not names:
        parser.error(f"--candidates: expected names from {list(CANDIDATES)}, got {args.candidates!r}")
    reports = []
    for data in args.data:
        report = benchmark(data, {c: CANDIDATES[c] for c in names}, args.budget_minutes, args.quick,
                           args.cache_dir)
        print_table(report)
        reports.append(report)
    first = reports[0]
    shipped = first["rankers"][first["shipped"]]
    default = next(iter(names))
    print(json.dumps({
        "ndcg10_model": first["rankers"][default]["ndcg@10"],
        "ndcg10_hybrid": first["rankers"][f"{default}+hybrid"]["ndcg@10"],
        "run_shipped": first["run_shipped"], "ndcg10_run_shipped": first["rankers"][first["run_shipped"]]["ndcg@10"],
        "ndcg10_shipped": shipped["ndcg@10"], "ndcg10_best_baseline": first["rankers"][first["best_baseline"]]["ndcg@10"],
        "best_baseline": first["best_baseline"], "shipped": first["shipped"], "p_value": shipped["p_vs_best_baseline"],
        "train_minutes": shipped["train_minutes"], "steps": shipped["steps"], "quick": args.quick,
        "data_sets": reports,
    }, default=float))


if __name__ == "__main__":
    main()
