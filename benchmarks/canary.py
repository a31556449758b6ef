"""Canary evidence: sessions until team-draft interleaving (sign test) reaches a verdict at
p < 0.05, against a CTR A/B split (two-proportion z-test), on the same simulated shoppers.

    python benchmarks/canary.py [--quick] [--data DIR] [--noise 0.7,1.0] [--abandonment 0.5] [--seeds N]

Two rankers of known quality score a query's judged candidates with the judged label plus
Gaussian noise (one fixed draw per ranker; the worse ranker has more noise), so the true
difference in NDCG@10 over the data set's queries is fixed and printed. Simulated shoppers
(core/canary/shoppers.py: queries drawn uniformly, clicks from the sample's position-based click
model) see the top 10. On even seeds the candidate is the better ranker, on odd seeds the worse.
- interleaving: each session sees the team-draft merge of both lists (Radlinski et al. 2008);
  sign test of candidate wins against losses (Chapelle et al. 2012);
- A/B, the baseline: each session sees one ranker, 50/50 by user hash; two-sided two-proportion
  z-test of CTR (share of sessions with a click).
Both test on one grid of looks (from --min-sessions sessions on, every 2% more), each look a test
of all sessions so far. Figures, per method, over seeds:
- sessions_to_verdict_*: the fewest sessions from which on a test after that many sessions names
  the truly better ranker at p < alpha in >= 95% of seeds (a fixed-horizon test with 95% power);
- correct_verdict_rate(_ab): the share of seeds whose FIRST look with p < alpha (the canary's
  sequential decision) names the truly better ranker; median_first_verdict_*: its sessions.
- A/A (both sides the same ranker): the share of seeds with any verdict by the interleaving cap,
  the price of looking repeatedly; the always-valid sequential p-value (core/canary/evidence.py,
  CanaryPolicy(sequential=True)) keeps it under alpha, at the cost of more sessions (its own rows).
Click model: the sample's (every shopper examines the page, about 88% of sessions click), with
`--abandonment` of the shoppers leaving without a click whatever the page shows (default 0.5; the
sample's own click log uses 0). The JSON also holds the run at abandonment 0 ("no_abandonment",
A/B capped at a quarter of --cap-ab).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import statistics
import time
from pathlib import Path

import numpy as np

from shoprank.core.canary.evidence import interleaving_test, two_proportion_test
from shoprank.core.canary.interleaving import A, B, team_draft
from shoprank.core.canary.shoppers import SimulatedShoppers
from shoprank.core.data.sample.click_model import ClickModel
from shoprank.core.evaluation.metrics import ndcg_at_k

PAGE = 10
POWER = 0.95
TARGET_RATIO = 10.0


def noisy_rankers(judgments, sigmas: dict, seed: int = 12345) -> tuple[dict, dict]:
    """({name: {query_id: top-PAGE product ids}}, {name: mean NDCG@10}) for label + N(0, sigma) scores."""
    pages, ndcg = {}, {}
    ordered = judgments.sort_values(["query_id", "product_id"], kind="stable")
    for k, (name, sigma) in enumerate(sigmas.items()):
        rng = np.random.default_rng([seed, k])
        pages[name], scores = {}, []
        for qid, group in ordered.groupby("query_id", sort=True):
            labels = group["label"].to_numpy()
            order = np.argsort(-(labels + rng.normal(0.0, sigma, labels.size)), kind="stable")
            pages[name][str(qid)] = [str(p) for p in group["product_id"].to_numpy()[order][:PAGE]]
            value = ndcg_at_k(labels[order], PAGE)
            if not math.isnan(value):
                scores.append(value)
        ndcg[name] = float(np.mean(scores))
    return pages, ndcg


def look_grid(first: int, cap: int, growth: float = 1.02) -> list[int]:
    """Session counts at which the evidence is tested: first, then every `growth` factor, up to cap."""
    looks, n = [], float(first)
    while n < cap:
        looks.append(int(math.ceil(n)))
        n = max(n * growth, n + 1)
    return sorted(set(looks + [cap]))


def interleaving_looks(shoppers, candidate: dict, stable: dict, looks: list[int], seed: int) -> np.ndarray:
    """Per look (p_value of the sign test, sign of wins - losses, always-valid sequential p_value)."""
    out = np.zeros((len(looks), 3))
    wins = losses = 0
    k = 0
    for i in range(looks[-1]):
        session = shoppers.session(i)
        merged = team_draft(candidate[session.query_id], stable[session.query_id], np.random.default_rng([seed, i, 2]), PAGE)
        winner = merged.winner(shoppers.react(session, merged.items).clicked)
        wins += winner == A
        losses += winner == B
        if i + 1 == looks[k]:
            test = interleaving_test(wins, losses)
            out[k] = test.p_value, np.sign(wins - losses), test.sequential_p_value
            k += 1
    return out


def ab_looks(shoppers, candidate: dict, stable: dict, looks: list[int]) -> np.ndarray:
    """The same for a 50/50 split by user hash on CTR: (p_value, sign of CTR difference) per look."""
    out = np.zeros((len(looks), 2))
    clicks = {A: 0, B: 0}
    sessions = {A: 0, B: 0}
    k = 0
    for i in range(looks[-1]):
        session = shoppers.session(i)
        arm = A if int(session.user_hash[:8], 16) % 2 == 0 else B
        clicks[arm] += shoppers.react(session, (candidate if arm == A else stable)[session.query_id]).any_click
        sessions[arm] += 1
        if i + 1 == looks[k]:
            test = two_proportion_test("ctr", clicks[A], sessions[A], clicks[B], sessions[B])
            out[k] = test.p_value, np.sign(test.difference)
            k += 1
    return out


@dataclasses.dataclass
class Scenario:
    """One comparison: rankers' pages, the click model, looks and seeds."""

    tables: dict
    pages: dict
    click_model: ClickModel
    looks_interleaving: list
    looks_ab: list
    seeds: int
    aa_seeds: int
    alpha: float


def run(s: Scenario, label: str) -> dict:
    started = time.perf_counter()
    per_method = {"interleaving": [], "ab": []}
    truths = []
    for seed in range(s.seeds):
        shoppers = SimulatedShoppers(s.tables, seed=seed, click_model=s.click_model)
        truth = 1 if seed % 2 == 0 else -1
        cand, stab = (s.pages["better"], s.pages["worse"]) if truth > 0 else (s.pages["worse"], s.pages["better"])
        per_method["interleaving"].append(interleaving_looks(shoppers, cand, stab, s.looks_interleaving, seed))
        per_method["ab"].append(ab_looks(shoppers, cand, stab, s.looks_ab))
        truths.append(truth)
        logging.getLogger("canary-bench").info("%s: seed %d done (%.0fs)", label, seed, time.perf_counter() - started)
    out = {}
    for method, looks in (("interleaving", s.looks_interleaving), ("ab", s.looks_ab)):
        out[method] = summarise_method(per_method[method], np.array(truths), looks, s.alpha)
    sequential = [r[:, [2, 1]] for r in per_method["interleaving"]]  # the always-valid p in the p column
    out["interleaving_sequential"] = summarise_method(sequential, np.array(truths), s.looks_interleaving, s.alpha)
    aa = {"interleaving": 0, "interleaving_sequential": 0, "ab": 0}
    for seed in range(s.aa_seeds):
        shoppers = SimulatedShoppers(s.tables, seed=10_000 + seed, click_model=s.click_model)
        same = s.pages["better"]
        evidence = interleaving_looks(shoppers, same, same, s.looks_interleaving, seed)
        aa["interleaving"] += bool((evidence[:, 0] < s.alpha).any())
        aa["interleaving_sequential"] += bool((evidence[:, 2] < s.alpha).any())
        aa["ab"] += bool((ab_looks(shoppers, same, same, s.looks_interleaving)[:, 0] < s.alpha).any())
    out["aa_verdict_rate"] = {m: v / s.aa_seeds if s.aa_seeds else None for m, v in aa.items()}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def summarise_method(results: list, truths: np.ndarray, looks: list, alpha: float) -> dict:
    evidence = np.stack(results)  # [seeds, looks, (p, sign)]
    correct = (evidence[:, :, 0] < alpha) & (evidence[:, :, 1] == truths[:, None])
    power = correct.mean(axis=0)
    enough = np.flatnonzero(power < POWER)
    # The fewest sessions from which on every later look has the power.
    first = 0 if enough.size == 0 else int(enough[-1]) + 1
    sessions = looks[first] if first < len(looks) else None
    firsts, right = [], 0
    for seed_evidence, truth in zip(evidence, truths):
        hits = np.flatnonzero(seed_evidence[:, 0] < alpha)
        firsts.append(looks[hits[0]] if hits.size else looks[-1])
        right += bool(hits.size and seed_evidence[hits[0], 1] == truth)
    return {"sessions_to_verdict": sessions, "power_at_cap": float(power[-1]),
            "correct_verdict_rate": right / len(truths), "median_first_verdict": statistics.median(firsts),
            "no_verdict": int(sum((evidence[:, :, 0] >= alpha).all(axis=1)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 seeds, noise 0.5,1.0, A/B capped at 40,000 sessions, 2 A/A seeds.")
    parser.add_argument("--data", type=Path, default=None, help="A data folder; default: the built-in sample (seed 0).")
    parser.add_argument("--noise", default=None, help="Score noise (sd, in label grades) of the better,worse ranker (default 0.7,1.0).")
    parser.add_argument("--abandonment", type=float, default=0.5, help="Share of shoppers who leave without clicking.")
    parser.add_argument("--seeds", type=int, default=None, help="Shopper seeds (default 40; 10 with --quick).")
    parser.add_argument("--aa-seeds", type=int, default=None, help="A/A seeds (default 10; 2 with --quick).")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--min-sessions", type=int, default=100, help="First look, in sessions.")
    parser.add_argument("--cap-interleaving", type=int, default=None, help="Default 20,000; 5,000 with --quick.")
    parser.add_argument("--cap-ab", type=int, default=None, help="Default 200,000; 40,000 with --quick.")
    parser.add_argument("--verbose", action="store_true", help="A line per seed.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    seeds = args.seeds or (10 if args.quick else 40)
    aa_seeds = args.aa_seeds if args.aa_seeds is not None else (2 if args.quick else 10)
    noise = args.noise or ("0.5,1.0" if args.quick else "0.7,1.0")
    cap_il = args.cap_interleaving or (5_000 if args.quick else 20_000)
    cap_ab = args.cap_ab or (40_000 if args.quick else 200_000)
    if args.data is None:
        from shoprank.core.data.sample.generator import SampleConfig, generate_sample

        tables, source = generate_sample(SampleConfig(seed=0)).tables, "built-in sample (seed 0)"
    else:
        from shoprank.core.data.schema import read_tables

        tables, source = read_tables(args.data), str(args.data)
    good_sd, bad_sd = (float(x) for x in noise.split(","))
    pages, ndcg = noisy_rankers(tables["judgments"], {"better": good_sd, "worse": bad_sd})
    print(f"data: {source}; rankers: labels + N(0, {good_sd}) -> NDCG@10 {ndcg['better']:.4f}, labels + N(0, {bad_sd}) -> "
          f"{ndcg['worse']:.4f} (true difference {ndcg['better'] - ndcg['worse']:.4f}); {seeds} seeds, alpha {args.alpha}")
    results = {}
    for label, abandonment in (("main", args.abandonment), ("no_abandonment", 0.0)):
        if label == "no_abandonment" and args.abandonment == 0.0:
            continue
        # Without abandonment CTR is far less noisy: a quarter of the A/B cap is plenty there.
        scenario_cap_ab = cap_ab if label == "main" else cap_ab // 4
        scenario = Scenario(tables, pages, ClickModel(abandonment=abandonment), look_grid(args.min_sessions, cap_il),
                            look_grid(args.min_sessions, scenario_cap_ab), seeds, aa_seeds if label == "main" else 0,
                            args.alpha)
        r = results[label] = run(scenario, label)
        il, ab = r["interleaving"], r["ab"]
        ratio = ab["sessions_to_verdict"] / il["sessions_to_verdict"] if il["sessions_to_verdict"] and ab["sessions_to_verdict"] else None
        r["ratio"] = ratio
        print(f"abandonment {abandonment:.2f}: sessions for a correct verdict at p < {args.alpha} in {POWER:.0%} of seeds: "
              f"interleaving {il['sessions_to_verdict'] or f'> {cap_il}'}, A/B on CTR {ab['sessions_to_verdict'] or f'> {scenario_cap_ab}'}"
              f" -> ratio {f'{ratio:.1f}x' if ratio else 'n/a'} (target >= {TARGET_RATIO:g}x); first verdict correct in "
              f"{il['correct_verdict_rate']:.0%} (interleaving) / {ab['correct_verdict_rate']:.0%} (A/B) of seeds, median "
              f"{il['median_first_verdict']} / {ab['median_first_verdict']} sessions ({r['seconds']:.0f}s)")
        seq = r["interleaving_sequential"]
        print(f"  interleaving judged by the always-valid sequential p-value: {seq['sessions_to_verdict'] or f'> {cap_il}'} "
              f"sessions for 95% of seeds, first verdict correct in {seq['correct_verdict_rate']:.0%}, median "
              f"{seq['median_first_verdict']} sessions")
        if r["aa_verdict_rate"]["interleaving"] is not None:
            print(f"  A/A ({aa_seeds} seeds, up to {cap_il} sessions, looked at every 2%): a verdict in "
                  f"{r['aa_verdict_rate']['interleaving']:.0%} (interleaving, sign test) / "
                  f"{r['aa_verdict_rate']['interleaving_sequential']:.0%} (interleaving, sequential p) / "
                  f"{r['aa_verdict_rate']['ab']:.0%} (A/B) of seeds")
    main_run = results["main"]
    summary = {
        "sessions_to_verdict_interleaving": main_run["interleaving"]["sessions_to_verdict"],
        "sessions_to_verdict_ab": main_run["ab"]["sessions_to_verdict"],
        "ratio_ab_to_interleaving": main_run["ratio"],
        "correct_verdict_rate": main_run["interleaving"]["correct_verdict_rate"],
        "correct_verdict_rate_ab": main_run["ab"]["correct_verdict_rate"],
        "median_first_verdict_interleaving": main_run["interleaving"]["median_first_verdict"],
        "median_first_verdict_ab": main_run["ab"]["median_first_verdict"],
        "sessions_to_verdict_interleaving_sequential": main_run["interleaving_sequential"]["sessions_to_verdict"],
        "correct_verdict_rate_sequential": main_run["interleaving_sequential"]["correct_verdict_rate"],
        "aa_verdict_rate": main_run["aa_verdict_rate"], "abandonment": args.abandonment,
        "ndcg_better": ndcg["better"], "ndcg_worse": ndcg["worse"], "ndcg_difference": ndcg["better"] - ndcg["worse"],
        "seeds": seeds, "alpha": args.alpha, "cap_interleaving": cap_il, "cap_ab": cap_ab,
        "no_abandonment": {k: v for k, v in results.get("no_abandonment", {}).items() if k != "aa_verdict_rate"},
        "seconds": round(sum(r["seconds"] for r in results.values()), 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
