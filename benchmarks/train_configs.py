"""Training-config comparison: seed-averaged NDCG@10 on three held-out query sets.

    python benchmarks/train_configs.py [--quick] [--seeds 0,1,2] [--marketplace-titles]
                                       [--variant NAME='{"lr": 1e-4}' ...]

How the training defaults were chosen. One run's test NDCG@10 moves by about 0.01 with the seed
(the sample's test split has 67 queries), more than most config changes, so each config is trained
with several seeds and scored on:
  validation  the sample's validation queries (the ones early stopping watches);
  test        the sample's test queries;
  unseen      200 queries of a second generated catalogue (sample seed 11): products, brands and
              queries the model never saw, the closest stand-in here for a retailer's own data.
Zero-shot (the pretrained encoder's cosine) is printed for each set as the bar to clear.
--marketplace-titles gives both catalogues long marketplace-style titles (about 30 tokens instead
of 13), as many retailers' catalogues have: what a fixed truncation length costs shows there.

Each run is a full fine-tune plus scoring the three sets: on 2 CPU cores about 7 minutes with
native bf16, 17-18 on an AVX2-only CPU (fp32); 20 seconds on an H100. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = {
    "default": {},
    "no_weight_average": {"ema_decay": 0.0},
    "lr3e-4_2ep": {"lr": 3e-4, "epochs": 2},
    "pointwise": {"loss": "pointwise"},
    "no_price_verdicts": {"price_limits": False, "low_price_words": False},
    "no_spelling_notes": {"spelling_notes": False},
    "fitted_max_length": {"max_length": None},  # fitted to the pairs (train_data.fitted_max_length)
    "lr5e-4": {"lr": 5e-4},
}
UNSEEN_CATALOGUE_SEED = 11
UNSEEN_QUERIES = 200


def evaluation_sets(marketplace_titles: bool = False) -> tuple:
    """The sample's pairs (to train on) and the three scored query sets."""
    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample

    def catalogue_pairs(seed: int):
        return build_pairs(generate_sample(SampleConfig(seed=seed, marketplace_titles=marketplace_titles)).tables)

    pairs = catalogue_pairs(0)
    unseen = catalogue_pairs(UNSEEN_CATALOGUE_SEED)
    chosen = np.random.default_rng(0).choice(sorted(unseen["query_id"].unique()), UNSEEN_QUERIES, replace=False)
    return pairs, {
        "validation": pairs[pairs["split"] == "validation"].copy(),
        "test": pairs[pairs["split"] == "test"].copy(),
        "unseen": unseen[unseen["query_id"].isin(chosen)].copy(),
    }


def ndcg10(frame, column: str) -> float:
    from shoprank.core.evaluation.metrics import rank_metrics

    return float(rank_metrics(frame, column)["ndcg@10"])


def run_variant(pairs, sets: dict, overrides: dict, seed: int) -> dict:
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.loop import train

    config = TrainConfig(**{**overrides, "seed": seed, "checkpoint_every": 0, "log_every": 10**6})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = train(pairs, Path(tmp) / "m", config)
        reranker = Reranker.load(Path(tmp) / "m")
        scores = {name: ndcg10(frame.assign(model=reranker.score(frame)), "model") for name, frame in sets.items()}
    return {**scores, "steps": result["steps"], "max_length": result["max_length"],
            "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 steps, one seed, two variants")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    parser.add_argument("--marketplace-titles", action="store_true",
                        help="long marketplace-style titles in both catalogues")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help="compare this TrainConfig override instead of the built-in list (repeatable)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from shoprank.core.ranking.baselines import zeroshot_scores

    variants = VARIANTS
    if args.variant:
        try:
            variants = {name: json.loads(overrides) for name, overrides in (v.split("=", 1) for v in args.variant)}
        except ValueError:
            parser.error(f"--variant expects NAME=JSON, e.g. lr1e-4='{{\"lr\": 1e-4}}'; got {args.variant}")
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.quick:
        variants = dict(list(variants.items())[:2])
        variants = {name: {**o, "max_steps": 30} for name, o in variants.items()}
        seeds = seeds[:1]

    pairs, sets = evaluation_sets(args.marketplace_titles)
    zeroshot = {name: ndcg10(frame.assign(zs=zeroshot_scores(frame["query"].tolist(),
                                                             frame["product_text"].tolist())), "zs")
                for name, frame in sets.items()}
    print("queries: " + ", ".join(f"{n} {f['query_id'].nunique()}" for n, f in sets.items()))
    print("zero-shot NDCG@10: " + ", ".join(f"{n} {v:.4f}" for n, v in zeroshot.items()), flush=True)

    runs = {}
    for name, overrides in variants.items():
        for seed in seeds:
            run = run_variant(pairs, sets, overrides, seed)
            runs.setdefault(name, []).append(run)
            print(f"[{name} seed {seed}] " + ", ".join(f"{n} {run[n]:.4f}" for n in sets)
                  + f", {run['steps']} steps, max_length {run['max_length']}, {run['seconds']:.0f} s", flush=True)

    print(f"\nmean NDCG@10 over seeds {seeds} (sd in brackets); gain over zero-shot in the last column")
    print(f"{'variant':<16}" + "".join(f"{n:>18}" for n in sets) + f"{'mean gain':>11}")
    summary = {}
    for name, rs in runs.items():
        stats = {n: (float(np.mean([r[n] for r in rs])), float(np.std([r[n] for r in rs]))) for n in sets}
        gain = float(np.mean([stats[n][0] - zeroshot[n] for n in sets]))
        summary[name] = {"overrides": variants[name], **{n: round(m, 4) for n, (m, _) in stats.items()},
                         "sd": {n: round(s, 4) for n, (_, s) in stats.items()}, "mean_gain_over_zeroshot": round(gain, 4),
                         "max_length": rs[0]["max_length"],
                         "seconds_per_run": round(float(np.mean([r["seconds"] for r in rs])), 1)}
        print(f"{name:<16}" + "".join(f"{m:>11.4f} ({s:.3f})" for m, s in stats.values()) + f"{gain:>+11.4f}")
    print(json.dumps({"zeroshot": {n: round(v, 4) for n, v in zeroshot.items()}, "seeds": seeds,
                      "variants": summary, "marketplace_titles": args.marketplace_titles, "quick": args.quick}))


if __name__ == "__main__":
    main()
