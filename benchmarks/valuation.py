"""Data valuation benchmark: ours (exact KNN-Shapley, Data-OOB) vs pyDVL, cleanlab and random.

    python benchmarks/valuation.py [--quick]

Two noisy-label data sets, each with 20% of the training labels flipped to another class:
  digits  scikit-learn's bundled 8x8 digits (no download), pixels / 16, 70/30 train/validation
          split; only train labels are flipped (the validation set is the trusted reference).
  sample  the built-in shop sample (label_noise=0.2, flips in every split, truth from the
          generator); (query, product) pairs as the value stage builds them (encoder features).
For each: flipped-label detection AUROC / AUPRC and wall seconds (median of repeats, timed
inside the worker around the valuation call) for ours, pyDVL 0.10's KNNShapleyValuation and
DataOOBValuation (same k, same bagged trees), cleanlab's find_label_issues (on the same
out-of-fold logistic-regression probabilities our stage uses) and a random ranking; the max
|ours - pyDVL| over exact KNN-Shapley values; a 100,000-row scale run (synthetic pair
features, 1,000 validation rows) with seconds and peak RSS; and the downstream effect, NDCG@10
on the sample's test queries (clean labels from the truth table, and the noisy labels as
served) of two rerankers trained with and without value weights: a light one (multinomial
logistic regression on the pair features, scored by expected grade) and the cross-encoder of
the training stage (default TrainConfig, one epoch; 30 steps with --quick).

Every method runs in its own subprocess. pyDVL 0.10 pins numpy<2, so its workers run in a
separate virtual environment, benchmarks/.venv-pydvl, created here on first use (pip).
Digits features get a 1e-4 Gaussian jitter (same array for every method): integer pixels make
exact distance ties, and tie order would otherwise decide the ours-vs-pyDVL comparison.
The last line printed is one JSON object; unprefixed keys are the digits figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import timed  # benchmarks/timing.py (this script's folder is on sys.path)

HERE = Path(__file__).resolve().parent
PYDVL_VENV = HERE / ".venv-pydvl"
PYDVL_REQUIREMENTS = ["pyDVL==0.10.0", "numpy<2"]
EMBEDDING_CACHE = HERE / ".cache" / "embeddings"
K = 10
NOISE = 0.2
OOB_TREES = 200
OOB_LEAF = 3
SEED = 0


# --------------------------------------------------------------------------- workers (own process)
# Workers import only what their environment has: pyDVL workers run under numpy<2 without shoprank.


def _load(path):
    import numpy as np

    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def worker_ours_knn(d, repeats):
    from shoprank.core.valuation.config import KnnShapleyConfig
    from shoprank.core.valuation.knn_shapley import knn_shapley

    return timed(lambda: knn_shapley(d["x_train"], d["y_train"], d["x_valid"], d["y_valid"], KnnShapleyConfig(k=K)), repeats)


def worker_ours_oob(d, repeats):
    import sklearn.tree  # noqa: F401  imported before the clock starts, as in the pyDVL workers

    from shoprank.core.valuation.config import DataOobConfig
    from shoprank.core.valuation.data_oob import data_oob

    config = DataOobConfig(n_estimators=OOB_TREES, min_samples_leaf=OOB_LEAF, seed=SEED)
    return timed(lambda: data_oob(d["x_train"], d["y_train"], config), repeats)


def worker_cleanlab(d, repeats):
    """cleanlab's find_label_issues on out-of-fold probabilities; flagged rows rank first."""
    import numpy as np
    import sklearn.linear_model  # noqa: F401  imported before the clock starts
    import sklearn.model_selection  # noqa: F401
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    from shoprank.core.valuation.confident_learning import out_of_fold_probabilities

    def run():
        probs = out_of_fold_probabilities(d["x_train"], d["y_train"])
        codes = np.unique(d["y_train"], return_inverse=True)[1]
        flagged = find_label_issues(codes, probs)
        # A value to rank by: unflagged above flagged, then cleanlab's self-confidence.
        return get_label_quality_scores(codes, probs) - 2.0 * flagged

    return timed(run, repeats)


def worker_random(d, repeats):
    import numpy as np

    return timed(lambda: np.random.default_rng(SEED).random(len(d["y_train"])), repeats)


def worker_pydvl_knn(d, repeats):
    from sklearn.neighbors import KNeighborsClassifier

    from pydvl.valuation.dataset import Dataset
    from pydvl.valuation.methods.knn_shapley import KNNShapleyValuation

    train = Dataset(d["x_train"], d["y_train"])
    valid = Dataset(d["x_valid"], d["y_valid"])

    def run():
        valuation = KNNShapleyValuation(KNeighborsClassifier(n_neighbors=K), test_data=valid, progress=False)
        return _in_index_order(valuation.fit(train).values(), len(d["y_train"]))

    return timed(run, repeats)


def worker_pydvl_oob(d, repeats):
    import numpy as np
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    from pydvl.valuation.dataset import Dataset
    from pydvl.valuation.methods.data_oob import DataOOBValuation

    # pyDVL's Data-OOB needs labels 0..C-1 (other label sets returned all zeros).
    codes = np.unique(d["y_train"], return_inverse=True)[1]
    train = Dataset(d["x_train"], codes)

    def run():
        model = BaggingClassifier(
            DecisionTreeClassifier(max_features="sqrt", min_samples_leaf=OOB_LEAF),
            n_estimators=OOB_TREES, random_state=SEED, n_jobs=1,
        ).fit(d["x_train"], codes)
        return _in_index_order(DataOOBValuation(model).fit(train).values(), len(codes))

    return timed(run, repeats)


def _in_index_order(result, n):
    import numpy as np

    values = np.full(n, np.nan)
    values[np.asarray(result.indices, dtype=int)] = result.values
    return values


def worker_scale(d, repeats):
    """Exact KNN-Shapley on synthetic pair features; peak RSS of this whole process."""
    import numpy as np

    from shoprank.core.valuation.config import KnnShapleyConfig
    from shoprank.core.valuation.knn_shapley import knn_shapley

    n, m, dim = int(d["n"]), int(d["m"]), 385
    rng = np.random.default_rng(SEED)
    centers = rng.normal(size=(4, dim)).astype(np.float32)
    y = rng.integers(0, 4, n + m)
    x = centers[y] + 2.0 * rng.standard_normal(size=(n + m, dim), dtype=np.float32)
    flipped = np.zeros(n + m, dtype=bool)
    flipped[:n] = rng.random(n) < NOISE
    y_noisy = np.where(flipped, (y + rng.integers(1, 4, n + m)) % 4, y)
    values, seconds = timed(lambda: knn_shapley(x[:n], y_noisy[:n], x[n:], y[n:], KnnShapleyConfig(k=K)), repeats)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"values": values, "flipped": flipped[:n], "peak_mb": np.array(peak_mb)}, seconds


WORKERS = {
    "ours_knn": worker_ours_knn, "ours_oob": worker_ours_oob, "cleanlab": worker_cleanlab,
    "random": worker_random, "pydvl_knn": worker_pydvl_knn, "pydvl_oob": worker_pydvl_oob,
    "scale": worker_scale,
}
PYDVL_WORKERS = {"pydvl_knn", "pydvl_oob"}


def run_worker(name: str, data_path: str, out_path: str, repeats: int) -> None:
    import warnings

    import numpy as np

    warnings.simplefilter("ignore", FutureWarning)  # pyDVL 0.10 deprecation notices
    result, seconds = WORKERS[name](_load(data_path), repeats)
    arrays = result if isinstance(result, dict) else {"values": result}
    np.savez(out_path, seconds=np.array(seconds), **arrays)


# --------------------------------------------------------------------------- orchestration


def pydvl_python() -> str:
    """The pyDVL venv's interpreter, creating the venv on first use."""
    python = PYDVL_VENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import pydvl"], capture_output=True).returncode == 0:
        return str(python)
    print(f"creating {PYDVL_VENV.relative_to(HERE.parent)} with {' '.join(PYDVL_REQUIREMENTS)} (first use) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PYDVL_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PYDVL_REQUIREMENTS], check=True)
    return str(python)


def spawn(name: str, data_path: Path, workdir: Path, repeats: int = 1) -> dict:
    """Run one worker in a fresh process; its arrays and the median seconds."""
    import numpy as np

    out_path = workdir / f"{name}-{data_path.stem}.npz"
    python = pydvl_python() if name in PYDVL_WORKERS else sys.executable
    env = dict(os.environ, PYTHONHASHSEED=str(SEED), TOKENIZERS_PARALLELISM="false")
    # One BLAS thread keeps small model fits fast (two spinning OpenBLAS pools crawl on few
    # cores); the scale run keeps every core for its large matrix product.
    if name != "scale":
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    subprocess.run([python, str(Path(__file__).resolve()), "--worker", name, "--data", str(data_path),
                    "--out", str(out_path), "--repeats", str(repeats)], check=True, env=env)
    with np.load(out_path) as out:
        return {key: out[key] for key in out.files}


def flip_labels(y, rate, n_classes, rng):
    import numpy as np

    flipped = np.zeros(len(y), dtype=bool)
    flipped[rng.choice(len(y), int(round(rate * len(y))), replace=False)] = True
    noisy = np.where(flipped, (y + rng.integers(1, n_classes, len(y))) % n_classes, y)
    return noisy, flipped


def prepare_digits(path: Path) -> None:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(SEED)
    x = x / 16.0 + 1e-4 * rng.normal(size=x.shape)
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=0.3, stratify=y, random_state=SEED)
    y_noisy, flipped = flip_labels(y_train, NOISE, 10, rng)
    np.savez(path, x_train=x_train, y_train=y_noisy, x_valid=x_valid, y_valid=y_valid, flipped=flipped)


def prepare_sample(path: Path, quick: bool):
    """Pair features of the noisy sample; returns the pairs frame with clean labels for downstream."""
    import numpy as np

    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample
    from shoprank.core.stages.value import PairFeatureConfig, embed_pairs, pair_features

    size = dict(n_products=600, n_queries=120) if quick else {}
    sample = generate_sample(SampleConfig(seed=SEED, label_noise=NOISE, **size))
    pairs = build_pairs(sample.tables)
    truth = sample.noise_truth[["query_id", "product_id", "clean_label"]]
    pairs = pairs.merge(truth, on=["query_id", "product_id"], how="left")
    pairs["flipped"] = pairs["clean_label"].notna()
    pairs["clean_label"] = pairs["clean_label"].fillna(pairs["label"]).astype("int64")
    features_config = PairFeatureConfig(cache_dir=str(EMBEDDING_CACHE))
    x = pair_features(*embed_pairs(pairs, features_config), features_config.cosine_weight).astype(np.float64)
    train = (pairs["split"] == "train").to_numpy()
    valid = (pairs["split"] == "validation").to_numpy()
    y = pairs["label"].to_numpy()
    np.savez(path, x_train=x[train], y_train=y[train], x_valid=x[valid], y_valid=y[valid],
             flipped=pairs["flipped"].to_numpy()[train])
    return pairs, x


def detection(values, flipped) -> dict:
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    suspicion = -np.asarray(values, dtype=float)
    return {"auroc": float(roc_auc_score(flipped, suspicion)), "auprc": float(average_precision_score(flipped, suspicion))}


def value_weights(pairs, x) -> dict:
    """Training weights of the train rows: none, each valuation method x policy, and the clean-only oracle."""
    import numpy as np

    from shoprank.core.valuation.config import DataOobConfig, KnnShapleyConfig, PolicyConfig, ValuationConfig
    from shoprank.core.valuation.methods import value_examples

    train = (pairs["split"] == "train").to_numpy()
    valid = (pairs["split"] == "validation").to_numpy()
    y = pairs["label"].to_numpy()
    runs = {"unweighted": np.ones(train.sum())}
    for method in ("knn_shapley", "data_oob"):
        for policy in ("weight", "drop"):
            config = ValuationConfig(method=method, knn=KnnShapleyConfig(k=K), policy=PolicyConfig(policy=policy),
                                     oob=DataOobConfig(n_estimators=OOB_TREES, min_samples_leaf=OOB_LEAF, seed=SEED))
            runs[f"{method}_{policy}"] = value_examples(x[train], y[train], x[valid], y[valid], config).weights
    runs["oracle_clean_only"] = (~pairs["flipped"].to_numpy()[train]).astype(float)
    return runs


def _test_ndcg(scored) -> dict:
    """NDCG@10 of scored test rows against the clean labels (the truth) and the noisy ones (as served)."""
    from shoprank.core.evaluation.metrics import rank_metrics

    return {"ndcg10_clean": rank_metrics(scored.assign(label=scored["clean_label"]))["ndcg@10"],
            "ndcg10_noisy": rank_metrics(scored)["ndcg@10"]}


def light_reranker_effect(pairs, x, runs: dict) -> dict:
    """Test NDCG@10 of a logistic-regression reranker on the pair features, per set of training weights."""
    from sklearn.linear_model import LogisticRegression

    from shoprank.core.valuation.inputs import single_threaded_blas

    train = (pairs["split"] == "train").to_numpy()
    test = (pairs["split"] == "test").to_numpy()
    y = pairs["label"].to_numpy()
    out = {}
    for name, weights in runs.items():
        keep = weights > 0
        with single_threaded_blas():
            model = LogisticRegression(max_iter=2000).fit(x[train][keep], y[train][keep], sample_weight=weights[keep])
        out[name] = _test_ndcg(pairs[test].assign(score=model.predict_proba(x[test]) @ model.classes_))
    return out


CROSS_ENCODER_RUNS = ("unweighted", "knn_shapley_weight", "knn_shapley_drop")
CROSS_ENCODER_EPOCHS = 1  # one epoch per run keeps three fine-tunes within a few minutes on 2 cores


def cross_encoder_effect(pairs, runs: dict, workdir: Path, quick: bool) -> dict:
    """Test NDCG@10 of the cross-encoder from the training stage (core.training, default config but
    CROSS_ENCODER_EPOCHS), trained with each of CROSS_ENCODER_RUNS's weights; validation (early
    stopping, best checkpoint) sees the noisy labels, as a real run would."""
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.loop import train

    train_rows = (pairs["split"] == "train").to_numpy()
    test = pairs[pairs["split"] == "test"]
    config = TrainConfig(seed=SEED, epochs=CROSS_ENCODER_EPOCHS, max_steps=30 if quick else None, log_every=1000)
    out = {}
    for name in CROSS_ENCODER_RUNS:
        weighted = pairs.copy()
        weighted.loc[train_rows, "weight"] = runs[name]
        weighted.loc[~train_rows, "weight"] = 1.0
        started = time.perf_counter()
        result = train(weighted, workdir / f"model-{name}", config)
        train_seconds = time.perf_counter() - started  # the fine-tune only, not the test scoring below
        scores = Reranker.load(workdir / f"model-{name}").score(test)
        out[name] = {**_test_ndcg(test.assign(score=scores)), "train_seconds": train_seconds, "steps": result["steps"]}
        print(f"  cross-encoder {name:20s} test NDCG@10 (clean labels) {out[name]['ndcg10_clean']:.4f} "
              f"({result['steps']} steps, {out[name]['train_seconds']:.0f}s)", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sample and scale run, one repeat")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.data, args.out, args.repeats)
        return

    import logging

    import numpy as np

    logging.basicConfig(level=logging.WARNING)
    repeats = 1 if args.quick else 3
    scale_rows, scale_valid = (100_000, 1_000)
    started = time.perf_counter()
    pydvl_python()
    summary: dict = {"quick": args.quick, "k": K, "noise": NOISE, "oob_trees": OOB_TREES}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        datasets = {"digits": workdir / "digits.npz", "sample": workdir / "sample.npz"}
        prepare_digits(datasets["digits"])
        pairs, sample_x = prepare_sample(datasets["sample"], args.quick)
        rows = []
        for dataset, path in datasets.items():
            data = _load(path)
            flipped = data["flipped"]
            print(f"\n{dataset}: {len(flipped)} train rows ({flipped.mean():.1%} flipped), "
                  f"{len(data['y_valid'])} validation rows, {data['x_train'].shape[1]} features", flush=True)
            results = {}
            for name in ("ours_knn", "pydvl_knn", "ours_oob", "pydvl_oob", "cleanlab", "random"):
                method_repeats = repeats if name.endswith("knn") or name == "random" else 1
                results[name] = spawn(name, path, workdir, method_repeats)
                scores = detection(results[name]["values"], flipped)
                seconds = float(results[name]["seconds"])
                rows.append((dataset, name, scores["auroc"], scores["auprc"], seconds))
                for key, val in {**scores, "seconds": seconds}.items():
                    summary[f"{dataset}_{key}_{name.replace('ours_', '')}"] = round(val, 4)
                print(f"  {name:10s} auroc {scores['auroc']:.4f}  auprc {scores['auprc']:.4f}  {seconds:8.3f}s", flush=True)
            diff = float(np.max(np.abs(results["ours_knn"]["values"] - results["pydvl_knn"]["values"])))
            summary[f"{dataset}_max_abs_diff_vs_pydvl"] = diff
            summary[f"{dataset}_speedup_knn_vs_pydvl"] = round(
                float(results["pydvl_knn"]["seconds"]) / max(float(results["ours_knn"]["seconds"]), 1e-9), 1)
            summary[f"{dataset}_speedup_oob_vs_pydvl"] = round(
                float(results["pydvl_oob"]["seconds"]) / max(float(results["ours_oob"]["seconds"]), 1e-9), 1)

        scale_path = workdir / "scale.npz"
        np.savez(scale_path, n=scale_rows, m=scale_valid)
        scale = spawn("scale", scale_path, workdir, 1)
        scale_auroc = detection(scale["values"], scale["flipped"])["auroc"]
        weights = value_weights(pairs, sample_x)
        effect = light_reranker_effect(pairs, sample_x, weights)
        print("\ndownstream: training the cross-encoder with and without value weights", flush=True)
        cross_effect = cross_encoder_effect(pairs, weights, workdir, args.quick)

    print("\nflipped-label detection (higher is better; seconds = median wall time of the valuation call)")
    print(f"{'data':8s} {'method':11s} {'AUROC':>7s} {'AUPRC':>7s} {'seconds':>9s}")
    for dataset, name, auroc, auprc, seconds in rows:
        print(f"{dataset:8s} {name:11s} {auroc:7.4f} {auprc:7.4f} {seconds:9.3f}")
    for dataset in datasets:
        print(f"{dataset}: exact KNN-Shapley max |ours - pyDVL| = {summary[f'{dataset}_max_abs_diff_vs_pydvl']:.2e}; "
              f"ours is {summary[f'{dataset}_speedup_knn_vs_pydvl']}x faster than pyDVL (KNN-Shapley), "
              f"{summary[f'{dataset}_speedup_oob_vs_pydvl']}x (Data-OOB)")
    print(f"scale: {scale_rows} train x {scale_valid} validation rows, 385 features: "
          f"{float(scale['seconds']):.2f}s, peak RSS {float(scale['peak_mb']):.0f} MB, AUROC {scale_auroc:.4f}")
    print("\ndownstream: logistic-regression reranker on the pair features, test-query NDCG@10")
    print(f"{'training weights':24s} {'clean labels':>12s} {'noisy labels':>12s}")
    for name, m in effect.items():
        print(f"{name:24s} {m['ndcg10_clean']:12.4f} {m['ndcg10_noisy']:12.4f}")
    print(f"\ndownstream: cross-encoder from the training stage (default TrainConfig, "
          f"{'30 steps' if args.quick else f'{CROSS_ENCODER_EPOCHS} epoch'}), test-query NDCG@10")
    print(f"{'training weights':24s} {'clean labels':>12s} {'noisy labels':>12s} {'train s':>8s}")
    for name, m in cross_effect.items():
        print(f"{name:24s} {m['ndcg10_clean']:12.4f} {m['ndcg10_noisy']:12.4f} {m['train_seconds']:8.0f}")

    summary.update({
        "auroc_knn": summary["digits_auroc_knn"], "auroc_oob": summary["digits_auroc_oob"],
        "auroc_pydvl_knn": summary["digits_auroc_pydvl_knn"], "auroc_pydvl_oob": summary["digits_auroc_pydvl_oob"],
        "auroc_cleanlab": summary["digits_auroc_cleanlab"], "auroc_random": summary["digits_auroc_random"],
        "seconds_knn": summary["digits_seconds_knn"], "seconds_pydvl_knn": summary["digits_seconds_pydvl_knn"],
        "max_abs_diff_vs_pydvl": max(summary["digits_max_abs_diff_vs_pydvl"], summary["sample_max_abs_diff_vs_pydvl"]),
        "seconds_100k": round(float(scale["seconds"]), 3), "peak_mb_100k": round(float(scale["peak_mb"]), 1),
        "scale_rows": scale_rows, "scale_validation_rows": scale_valid,
        "ndcg10_unweighted": round(effect["unweighted"]["ndcg10_clean"], 4),
        "ndcg10_weighted": round(effect["knn_shapley_weight"]["ndcg10_clean"], 4),
        "downstream": {name: {k: round(v, 4) for k, v in m.items()} for name, m in effect.items()},
        "ndcg10_cross_encoder_unweighted": round(cross_effect["unweighted"]["ndcg10_clean"], 4),
        "ndcg10_cross_encoder_weighted": round(cross_effect["knn_shapley_weight"]["ndcg10_clean"], 4),
        "downstream_cross_encoder": {name: {k: round(v, 4) for k, v in m.items()} for name, m in cross_effect.items()},
        "total_seconds": round(time.perf_counter() - started, 1),
    })
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
