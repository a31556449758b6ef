"""The request stream and the load generator of benchmarks/serving.py.

Stream: every query of the built-in sample with 50 candidates (its judged products, then other
catalogue products drawn with a seed per query, shuffled), so a query's request is the same
each time it comes. Clients draw queries Zipf-like (probability of the r-th most popular query
proportional to 1 / r^s over a seeded popularity order), so head queries repeat as in a shop's
search log. Each client has its own seeded generator.
"""

from __future__ import annotations

import asyncio
import json
import math
import time

import numpy as np

CANDIDATES = 50
ZIPF_S = 1.1


def _clean(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def request_stream(seed: int = 0, n_candidates: int = CANDIDATES) -> list[dict]:
    """[{query, candidates}] for every sample query, candidates as product records."""
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample

    tables = generate_sample(SampleConfig(seed=seed)).tables
    products = [{k: _clean(v) for k, v in row.items()} for row in tables["products"].to_dict("records")]
    for p in products:
        if isinstance(p.get("attributes"), str):
            p["attributes"] = json.loads(p["attributes"]) if p["attributes"] else None
    by_id = {p["product_id"]: p for p in products}
    judged = tables["judgments"].groupby("query_id")["product_id"].apply(lambda s: list(dict.fromkeys(s)))
    stream = []
    for k, row in enumerate(tables["queries"].to_dict("records")):
        rng = np.random.default_rng([seed, k])
        ids = judged.get(row["query_id"], [])[:n_candidates]
        while len(ids) < n_candidates:
            pick = products[int(rng.integers(len(products)))]["product_id"]
            if pick not in ids:
                ids.append(pick)
        rng.shuffle(ids)
        fields = ("product_id", "title", "brand", "category", "price", "attributes", "description")
        stream.append({"query": row["query"], "candidates": [{f: by_id[i].get(f) for f in fields} for i in ids]})
    return stream


def zipf_weights(n: int, seed: int = 0, s: float = ZIPF_S) -> np.ndarray:
    """Probability of drawing each of n queries: 1 / rank^s over a seeded popularity order."""
    ranks = np.empty(n)
    ranks[np.random.default_rng(seed).permutation(n)] = np.arange(1, n + 1)
    weights = 1.0 / ranks ** s
    return weights / weights.sum()


async def _client(http, url: str, bodies: list[bytes], weights, seed: int, deadline: float, out: dict) -> None:
    rng = np.random.default_rng(seed)
    while time.perf_counter() < deadline:
        body = bodies[int(rng.choice(len(bodies), p=weights))]
        start = time.perf_counter()
        try:
            r = await http.post(url, content=body, headers={"content-type": "application/json"})
            ok = r.status_code == 200
        except Exception:  # noqa: BLE001 - a transport failure counts as an error
            ok = False
        out["latencies"].append(time.perf_counter() - start) if ok else None
        out["errors"] += 0 if ok else 1


def run_load(url: str, bodies: list[bytes], weights, clients: int, seconds: float, seed: int = 0,
             pairs_per_request: int = CANDIDATES) -> dict:
    """`clients` concurrent keep-alive clients posting for `seconds`; pairs/s, p50/p99 ms, errors."""
    import httpx

    async def main():
        out = {"latencies": [], "errors": 0}
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(timeout=600, limits=limits) as http:
            start = time.perf_counter()
            deadline = start + seconds
            await asyncio.gather(*(_client(http, url, bodies, weights, seed * 1000 + k, deadline, out)
                                   for k in range(clients)))
            out["elapsed"] = time.perf_counter() - start
        return out

    out = asyncio.run(main())
    lat = np.asarray(out["latencies"]) * 1000
    return {"requests": int(len(lat)), "errors": int(out["errors"]), "seconds": round(out["elapsed"], 2),
            "pairs_per_s": round(len(lat) * pairs_per_request / out["elapsed"], 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
            "p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None}
