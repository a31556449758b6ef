"""Drift check at scale: ours end to end vs Evidently's DataDriftPreset called directly on the same frames.

    python benchmarks/drift.py [--quick] [--rows N]

Data: the built-in sample shop (seed 0) and its drift-0.3 batch, each grown to N interaction rows
(1,000,000 by default, 100,000 with --quick) by repeating whole searches under new session ids,
written as Parquet folders (interactions, products, queries).

Each side runs in its own process, so its peak memory (ru_maxrss) is its own:
    ours       `run_drift_stage`: read both folders (only the columns used), the whole check (all
               signals, query embeddings included), write the page and the JSON verdict.
    evidently  read the same folders, join price, category and brand of the shown product to every
               interaction, and run Report([DataDriftPreset()]) over position, price (numerical),
               clicked, purchased, model_version, category, brand (categorical), then save_html:
               the drift report a user would get by handing Evidently the interactions directly.
Timings include reading and writing on both sides. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL_ROWS, QUICK_ROWS = 1_000_000, 100_000


def grow(tables: dict, rows: int, seed: int) -> dict:
    """The sample's interactions repeated search by search (new session ids) up to `rows` rows."""
    import numpy as np
    import pandas as pd

    interactions = tables["interactions"]
    sessions, index = np.unique(interactions["session_id"].to_numpy(), return_inverse=True)
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    lengths = np.diff(np.r_[starts, len(index)])
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(starts), size=int(rows / lengths.mean() * 1.05) + 1)
    picks = picks[: int(np.searchsorted(np.cumsum(lengths[picks]), rows)) + 1]
    rows_index = np.concatenate([np.arange(starts[p], starts[p] + lengths[p]) for p in picks])[:rows]
    grown = interactions.iloc[rows_index].reset_index(drop=True)
    session_number = np.repeat(np.arange(len(picks)), lengths[picks])[:rows]
    grown["session_id"] = pd.Series(session_number).map(lambda i: f"S{i:08d}").to_numpy()
    grown["event_id"] = pd.Series(np.arange(rows)).map(lambda i: f"E{i:09d}").to_numpy()
    return {**tables, "interactions": grown}


def make_data(root: Path, rows: int) -> tuple[Path, Path]:
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample
    from shoprank.core.data.schema import write_tables

    folders = []
    for name, drift in (("reference", 0.0), ("current", 0.3)):
        sample = generate_sample(SampleConfig(seed=0, n_queries=2000, n_products=3000, drift=drift))
        tables = grow({k: v for k, v in sample.tables.items() if k != "judgments"}, rows, seed=int(drift * 10))
        tables["products"] = tables["products"].assign(attributes=None)
        folders.append(write_tables(tables, root / name))
    return folders[0], folders[1]


def run_ours(reference: Path, current: Path, out: Path, embeddings: bool = True) -> dict:
    from shoprank.core.drift.config import DriftConfig, SignalSpec
    from shoprank.core.stages.drift import run_drift_stage

    started = time.perf_counter()
    signals = {} if embeddings else {"queries.embedding": SignalSpec(enabled=False)}
    result = run_drift_stage(reference, current, out / "ours.html", out / "ours.json",
                             DriftConfig(signals=signals, embedding_cache_dir=str(out / f"cache-{time.time()}")))
    return {"seconds": time.perf_counter() - started, "html_bytes": result["html_bytes"], "verdict": result["verdict"],
            "drifted_signals": result["drifted_signals"], "units": result["sample"]}


def run_evidently(reference: Path, current: Path, out: Path) -> dict:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    started = time.perf_counter()
    frames = []
    for folder in (reference, current):
        interactions = pd.read_parquet(folder / "interactions.parquet",
                                       columns=["product_id", "position", "clicked", "purchased", "model_version"])
        products = pd.read_parquet(folder / "products.parquet", columns=["product_id", "price", "category", "brand"])
        frames.append(interactions.merge(products, on="product_id", how="left").drop(columns=["product_id"]))
    definition = DataDefinition(numerical_columns=["position", "price"],
                                categorical_columns=["clicked", "purchased", "model_version", "category", "brand"])
    snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(frames[1], data_definition=definition),
                                               Dataset.from_pandas(frames[0], data_definition=definition))
    snapshot.save_html(str(out / "evidently.html"))
    drifted = [m for m in snapshot.dict()["metrics"] if m["metric_name"].startswith("DriftedColumnsCount")]
    return {"seconds": time.perf_counter() - started, "html_bytes": (out / "evidently.html").stat().st_size,
            "drifted_columns": drifted[0]["value"] if drifted else None}


def _worker(role: str, reference: Path, current: Path, out: Path) -> None:
    if role == "evidently":
        result = run_evidently(reference, current, out)
    else:
        result = run_ours(reference, current, out, embeddings=role == "ours")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the whole process, imports included
    print(json.dumps(result, default=str))


def _in_process(role: str, reference: Path, current: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", role, "--reference", str(reference),
                           "--current", str(current), "--out", str(out)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{role} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows per window")
    parser.add_argument("--rows", type=int, default=None, help=f"rows per window (default {FULL_ROWS:,})")
    parser.add_argument("--worker", choices=("ours", "ours-without-embeddings", "evidently"), help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--current", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args.worker, args.reference, args.current, args.out)
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        reference, current = make_data(root, rows)
        print(f"data: {rows:,} rows per window in {time.perf_counter() - started:.0f}s", flush=True)
        evidently = _in_process("evidently", reference, current, root)
        print(f"evidently DataDriftPreset: {evidently['seconds']:.1f}s, peak {evidently['peak_mb']:.0f} MB, "
              f"HTML {evidently['html_bytes'] / 2**20:.1f} MB", flush=True)
        lean = _in_process("ours-without-embeddings", reference, current, root)
        print(f"ours without query embeddings: {lean['seconds']:.1f}s, peak {lean['peak_mb']:.0f} MB", flush=True)
        ours = _in_process("ours", reference, current, root)
        print(f"ours: {ours['seconds']:.1f}s, peak {ours['peak_mb']:.0f} MB, HTML {ours['html_bytes'] / 2**20:.1f} MB, "
              f"verdict {ours['verdict']} ({', '.join(ours['drifted_signals'])})", flush=True)
    ratio = ours["seconds"] / evidently["seconds"]
    print(f"ours / evidently direct: {ratio:.2f}x time ({lean['seconds'] / evidently['seconds']:.2f}x without query "
          f"embeddings), {ours['cpu_seconds'] / evidently['cpu_seconds']:.2f}x CPU time, "
          f"{ours['peak_mb'] / evidently['peak_mb']:.2f}x peak memory")
    print(json.dumps({
        "rows_per_window": rows, "seconds_ours": round(ours["seconds"], 2),
        "seconds_evidently_direct": round(evidently["seconds"], 2), "ratio": round(ratio, 3),
        "seconds_ours_without_embeddings": round(lean["seconds"], 2),
        "ratio_without_embeddings": round(lean["seconds"] / evidently["seconds"], 3),
        "cpu_seconds_ours": round(ours["cpu_seconds"], 1), "cpu_seconds_evidently_direct": round(evidently["cpu_seconds"], 1),
        "peak_mb_ours_without_embeddings": round(lean["peak_mb"], 1),
        "peak_mb_ours": round(ours["peak_mb"], 1), "peak_mb_evidently_direct": round(evidently["peak_mb"], 1),
        "html_mb": round(ours["html_bytes"] / 2**20, 3), "html_mb_evidently_direct": round(evidently["html_bytes"] / 2**20, 3),
        "verdict": ours["verdict"], "drifted_signals": ours["drifted_signals"], "units": ours["units"],
        "evidently_drifted_columns": evidently["drifted_columns"],
    }, sort_keys=True))


if __name__ == "__main__":
    main()
