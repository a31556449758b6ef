"""Serving benchmark: our KServe predictor vs a plain KServe predictor and infinity's rerank server.

    python benchmarks/serving.py --model MODEL_DIR [--quick] [--seconds S] [--student DIR]

One run, one machine, one model folder (as `shoprank run` writes it), one request stream
(benchmarks/serving_load.py: 1 query x 50 candidates, queries drawn Zipf-like from the sample's
queries, 16 concurrent keep-alive clients for a fixed time). Each server runs alone, after a
short warm-up that is not counted:
  ours           `python -m shoprank.serving.server` with default settings (runtime auto, cache on)
  ours_nocache   the same with --cache-entries 0
  baseline       baseline A, benchmarks/serving_baseline.py: a plain kserve.Model running
                 transformers fp32 on all candidates of a request (what the tutorials do)
  infinity       baseline B, infinity-emb's rerank server (torch engine, its default dtype) on the
                 model's hf/ folder, in its own virtual environment benchmarks/.venv-infinity
                 (created on first use: it pins numpy<2); skipped with the reason when it
                 cannot install or start
For each: pairs/s, p50/p99 latency, errors. Offline, on the sample's test split: NDCG@10 and
pairs/s of each speed option (int8 ONNX, fp32 ONNX, torch fp32, torch bf16 where native, and a
student folder if given), each scored through score_queries as the server scores.
Figures on a shared machine are noisy: compare ratios within one run. The last line printed is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from serving_load import request_stream, run_load, zipf_weights  # noqa: E402

INFINITY_VENV = HERE / ".venv-infinity"
INFINITY_PACKAGES = ["torch==2.13.0", "infinity-emb[server,torch]==0.0.78"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    out = dict(os.environ, TOKENIZERS_PARALLELISM="false", DO_NOT_TRACK="1", INFINITY_ANONYMOUS_USAGE_STATS="0")
    parent = str(Path(__import__("shoprank").__file__).resolve().parents[1])
    out["PYTHONPATH"] = os.pathsep.join(p for p in (parent, os.environ.get("PYTHONPATH", "")) if p)
    return out


def start(cmd: list[str], ready_url: str, log: Path, timeout: float = 600):
    import httpx

    fh = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-800:]}")
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"not ready after {timeout:.0f} s: {log.read_text()[-800:]}")


def stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(name, cmd, ready_url, url, bodies, weights, args, logs: Path) -> dict:
    print(f"serving: {name} starting", flush=True)
    proc = start(cmd, ready_url, logs / f"{name}.log")
    try:
        run_load(url, bodies, weights, args.clients, args.warmup, seed=99)
        result = run_load(url, bodies, weights, args.clients, args.seconds, seed=args.seed)
        if name.startswith("ours"):
            result.update(_server_facts(url.split("/v1/")[0], logs / f"{name}.log"))
    finally:
        stop(proc)
    print(f"serving: {name:13s} {result['pairs_per_s']:8.1f} pairs/s  p50 {result['p50_ms']} ms  "
          f"p99 {result['p99_ms']} ms  errors {result['errors']}", flush=True)
    return result


def _server_facts(base: str, log: Path) -> dict:
    import httpx

    text = httpx.get(f"{base}/metrics").text
    hits = sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith("shoprank_cache_lookups_total")
               and 'result="hit"' in l)
    total = sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith("shoprank_cache_lookups_total"))
    runtime = re.search(r"runtime (\S+) on", log.read_text())
    return {"cache_hit_rate": round(hits / total, 3) if total else 0.0, "runtime": runtime.group(1) if runtime else None}


def ensure_infinity() -> str | None:
    """None when infinity's venv is usable, else why not."""
    exe = INFINITY_VENV / "bin" / "infinity_emb"
    if exe.exists():
        return None
    try:
        subprocess.run([sys.executable, "-m", "venv", str(INFINITY_VENV)], check=True, capture_output=True)
        for pkg in INFINITY_PACKAGES:
            subprocess.run([str(INFINITY_VENV / "bin" / "pip"), "install", "-q", pkg], check=True,
                           capture_output=True, text=True, timeout=1800)
    except subprocess.CalledProcessError as exc:
        return f"pip install failed: {(exc.stderr or '')[-400:]}"
    except subprocess.TimeoutExpired:
        return "pip install took over 30 minutes"
    return None if exe.exists() else "infinity_emb was not installed"


def speed_options(model_dir: Path, student: Path | None) -> dict:
    """NDCG@10 and offline pairs/s of each runtime on the sample's test split, via score_queries."""
    from shoprank.core.common.precision import cpu_has_native_bf16
    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample
    from shoprank.core.evaluation.metrics import rank_metrics
    from shoprank.core.ranking.reranker import score_queries
    from shoprank.serving.runtime import load_runtime

    pairs = build_pairs(generate_sample(SampleConfig(seed=0)).tables)
    test = pairs[pairs["split"] == "test"].reset_index(drop=True)
    groups = list(test.groupby("query_id", sort=False))
    requests = [(g["query"].iloc[0], [{"title": t} for t in g["product_text"]]) for _, g in groups]
    options = [("onnx-int8", model_dir, "onnx-int8", "auto"), ("onnx-fp32", model_dir, "onnx", "auto"),
               ("torch-fp32", model_dir, "torch", "fp32")]
    if cpu_has_native_bf16():
        options.append(("torch-bf16", model_dir, "torch", "bf16"))
    if student:
        options += [("student-onnx-int8", student, "onnx-int8", "auto"), ("student-torch-fp32", student, "torch", "fp32")]
    out = {}
    for name, folder, runtime, precision in options:
        ranker = load_runtime(folder, runtime, precision).ranker
        score_queries(ranker, requests[:4])  # warm-up
        start = time.perf_counter()
        scores = score_queries(ranker, requests)
        seconds = time.perf_counter() - start
        frame = test.assign(score=[s for chunk in scores for s in chunk.tolist()])
        out[name] = {"ndcg10": round(rank_metrics(frame)["ndcg@10"], 4), "pairs_per_s": round(len(test) / seconds, 1)}
        print(f"serving: offline {name:20s} NDCG@10 {out[name]['ndcg10']:.4f}  {out[name]['pairs_per_s']:8.1f} pairs/s",
              flush=True)
    return out


def infinity_bodies(stream, model_dir: Path) -> list[bytes]:
    """The same requests in the rerank shape, texts as our model reads them (pair format applied)."""
    from shoprank.core.ranking.artifact import hf_model_dir
    from shoprank.core.text.pair_format import PairFormat
    from shoprank.core.text.query_features import format_pairs

    fmt = PairFormat.stored(hf_model_dir(model_dir))
    bodies = []
    for item in stream:
        queries, texts = format_pairs([{**c, "query": item["query"]} for c in item["candidates"]], fmt)
        bodies.append(json.dumps({"model": "shoprank", "query": queries[0], "documents": texts}).encode())
    return bodies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="Model folder (e.g. under shoprank run's artifacts).")
    parser.add_argument("--quick", action="store_true", help="CI size: 8 s per server.")
    parser.add_argument("--seconds", type=float, help="Measured seconds per server (default 30; 8 with --quick).")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--student", type=Path, help="A student model folder to add to the speed options.")
    parser.add_argument("--no-infinity", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 8.0 if args.quick else 30.0
    if args.quick:
        args.warmup = 2.0
    logs = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    stream = request_stream(args.seed)
    weights = zipf_weights(len(stream), args.seed)
    v1_bodies = [json.dumps({"instances": [item]}).encode() for item in stream]
    options = speed_options(args.model, args.student)
    results = {}
    for name, extra in (("ours", []), ("ours_nocache", ["--cache-entries", "0"])):
        port = free_port()
        cmd = [sys.executable, "-m", "shoprank.serving.server", str(args.model), "--port", str(port), *extra]
        base = f"http://127.0.0.1:{port}"
        results[name] = measure(name, cmd, f"{base}/v2/models/shoprank/ready", f"{base}/v1/models/shoprank:predict",
                                v1_bodies, weights, args, logs)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    results["baseline"] = measure("baseline", [sys.executable, str(HERE / "serving_baseline.py"), str(args.model),
                                               "--port", str(port)],
                                  f"{base}/v2/models/shoprank/ready", f"{base}/v1/models/shoprank:predict",
                                  v1_bodies, weights, args, logs)
    infinity_note = "skipped (--no-infinity)" if args.no_infinity else ensure_infinity()
    if infinity_note is None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [str(INFINITY_VENV / "bin" / "infinity_emb"), "v2", "--model-id", str(args.model / "hf"),
               "--served-model-name", "shoprank", "--engine", "torch", "--device", "cpu", "--port", str(port)]
        try:
            results["infinity"] = measure("infinity", cmd, f"{base}/models", f"{base}/rerank",
                                          infinity_bodies(stream, args.model), weights, args, logs)
            infinity_note = "ran (torch engine, default dtype)"
        except RuntimeError as exc:
            infinity_note = f"did not start: {exc}"
    print(f"serving: infinity {infinity_note}", flush=True)
    ours, nocache, base_a = results["ours"], results["ours_nocache"], results["baseline"]
    default_runtime = ours.get("runtime") or "onnx-int8"
    option_name = {"onnx-int8": "onnx-int8", "onnx": "onnx-fp32", "torch-bf16": "torch-bf16",
                   "torch-fp32": "torch-fp32"}.get(default_runtime, "onnx-int8")
    ratio = lambda a, b: round(a / b, 2) if a and b else None  # noqa: E731
    summary = {
        "pairs_per_s_ours": ours["pairs_per_s"], "pairs_per_s_ours_nocache": nocache["pairs_per_s"],
        "pairs_per_s_baseline": base_a["pairs_per_s"],
        "pairs_per_s_infinity": results.get("infinity", {}).get("pairs_per_s"),
        "p50_ms_ours": ours["p50_ms"], "p99_ms_ours": ours["p99_ms"], "p50_ms_ours_nocache": nocache["p50_ms"],
        "p99_ms_ours_nocache": nocache["p99_ms"], "p50_ms_baseline": base_a["p50_ms"],
        "p99_ms_baseline": base_a["p99_ms"], "p99_ms_infinity": results.get("infinity", {}).get("p99_ms"),
        "speedup_ours_vs_baseline": ratio(ours["pairs_per_s"], base_a["pairs_per_s"]),
        "speedup_nocache_vs_baseline": ratio(nocache["pairs_per_s"], base_a["pairs_per_s"]),
        "p99_nocache_over_baseline": ratio(nocache["p99_ms"], base_a["p99_ms"]),
        "speedup_ours_vs_infinity": ratio(ours["pairs_per_s"], results.get("infinity", {}).get("pairs_per_s")),
        "speedup_nocache_vs_infinity": ratio(nocache["pairs_per_s"], results.get("infinity", {}).get("pairs_per_s")),
        "ndcg10_ours": options[option_name]["ndcg10"], "ndcg10_fp32": options["torch-fp32"]["ndcg10"],
        "runtime_ours": default_runtime, "cache_hit_rate_ours": ours.get("cache_hit_rate"),
        "load_errors": sum(r["errors"] for r in results.values()),
        "errors": {name: r["errors"] for name, r in results.items()},
        "infinity": infinity_note, "speed_options": options, "seconds_per_server": args.seconds,
        "clients": args.clients, "model": str(args.model),
    }
    print(f"serving: ours {summary['speedup_ours_vs_baseline']}x baseline A pairs/s with the cache, "
          f"{summary['speedup_nocache_vs_baseline']}x without; p99 without cache {summary['p99_nocache_over_baseline']}x "
          f"baseline A's; NDCG@10 {summary['ndcg10_ours']} ({default_runtime}) vs {summary['ndcg10_fp32']} (fp32)",
          flush=True)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
