"""The built-in sample: a deterministic synthetic shop from a seed.

Products are built from core/data/sample/vocabulary.py. Queries are written the ways shoppers
write them (exact product, attribute combinations, category browsing, misspellings,
synonyms); each query gets >= 20 judged candidates on the ESCI scale, chosen so that word
overlap alone misleads (same colour or material in another category, synonyms, typos).
Interactions come from the position-based click model (core/data/sample/click_model.py) over a
production ranker. Knobs: size, label-noise rate (flipped rows listed in a separate truth table that
the pipeline never reads), a drift intensity (shifted query mix, categories, prices) and a batch
number (a later fortnight of the same shop: the same catalogue, fresh queries and traffic).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from shoprank.core.data.sample.click_model import ClickModel
from shoprank.core.data.sample.vocabulary import ADJECTIVES, BRANDS, COLORS, COMPLEMENTS, LEAVES, LOCALES, SELLING_POINTS, Leaf
from shoprank.core.common.errors import ConfigError
from shoprank.core.data.schema import write_tables

log = logging.getLogger(__name__)

QUERY_KINDS = ("exact", "attribute", "category", "misspelling", "synonym")
# Share of each query kind, and how drift moves it (more typos and browsing).
KIND_WEIGHTS = np.array([0.15, 0.35, 0.15, 0.15, 0.20])
DRIFT_KIND_WEIGHTS = np.array([0.05, 0.25, 0.30, 0.30, 0.10])
COLOR_PARAPHRASES = {"navy": "dark blue", "grey": "gray", "beige": "tan", "olive": "khaki", "purple": "violet", "brown": "chocolate"}
SIZE_PARAPHRASES = {"S": "small", "M": "medium", "L": "large", "XL": "extra large", "XS": "extra small"}
CLICK_MODEL = ClickModel()  # position bias x label-driven attraction (core/data/sample/click_model.py)
_LEAF_INDEX = {leaf.name: i for i, leaf in enumerate(LEAVES)}
_COMPLEMENT_OF: dict[str, set] = {}
for _a, _b in COMPLEMENTS:
    _COMPLEMENT_OF.setdefault(_a, set()).add(_b)
    _COMPLEMENT_OF.setdefault(_b, set()).add(_a)
SELLING_POINTS_PER_TITLE = 3
_TITLE_STREAM = 97  # marketplace titles draw from their own stream: the rest of the sample stays the same
_BATCH_STREAM = 98  # a later batch draws its queries and traffic from its own stream, after the same catalogue
TRUTH_DIR = "truth"
NOISE_TRUTH_FILE = "label_noise.parquet"


@dataclasses.dataclass(frozen=True)
class SampleConfig:
    """Knobs of the sample generator.

    seed: every random choice derives from it. n_products / n_queries: size.
    candidates_per_query: judged products per query (>= 20).
    label_noise: share of judgments whose label is flipped to another grade.
    drift: 0 = reference batch; up to 1 = shifted queries, categories and prices.
    sessions_per_query: mean search sessions per query in the click log.
    marketplace_titles: titles as marketplaces write them, with selling points between the name
    and the variant (about 30 tokens instead of 13); everything else stays the same.
    batch: 0 = the first fortnight of traffic; another number = a later fortnight of the same shop
    (the same catalogue, fresh queries, judgments and interactions, dated 14 days per batch later).
    A different seed is a different shop: another catalogue, with other brands per category.
    """

    seed: int = 0
    n_products: int = 3000
    n_queries: int = 400
    candidates_per_query: int = 24
    label_noise: float = 0.0
    drift: float = 0.0
    sessions_per_query: float = 3.0
    marketplace_titles: bool = False
    batch: int = 0

    def __post_init__(self):
        checks = [
            (self.n_products >= len(LEAVES), f"n_products >= {len(LEAVES)}", self.n_products),
            (self.n_queries >= 1, "n_queries >= 1", self.n_queries),
            (self.candidates_per_query >= 5, "candidates_per_query >= 5", self.candidates_per_query),
            (0.0 <= self.label_noise < 1.0, "0 <= label_noise < 1", self.label_noise),
            (0.0 <= self.drift <= 1.0, "0 <= drift <= 1", self.drift),
            (self.batch >= 0, "batch >= 0", self.batch),
        ]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"sample config: expected {expected}, got {got}")


@dataclasses.dataclass
class SampleData:
    """Generated tables (contract dtypes) and the truth about flipped labels."""

    config: SampleConfig
    tables: dict
    noise_truth: object  # DataFrame [query_id, product_id, clean_label, noisy_label]

    def write(self, out_dir: str | Path, fmt: str = "parquet") -> Path:
        """Write the contract tables to out_dir and the noise truth to out_dir/truth/."""
        out_dir = write_tables(_as_files(self.tables), out_dir, fmt)
        truth_dir = out_dir / TRUTH_DIR
        truth_dir.mkdir(exist_ok=True)
        self.noise_truth.to_parquet(truth_dir / NOISE_TRUTH_FILE, index=False)
        return out_dir


def _as_files(tables: dict) -> dict:
    """Attributes go to files as JSON strings, so Parquet and CSV hold the same thing."""
    out = dict(tables)
    products = tables["products"].copy()
    products["attributes"] = products["attributes"].map(lambda a: None if a is None else json.dumps(a, sort_keys=True))
    out["products"] = products
    return out


def generate_sample(config: SampleConfig = SampleConfig()) -> SampleData:
    """Generate the whole sample shop deterministically from config.seed."""
    rng = np.random.default_rng(config.seed)
    leaf_weights = _leaf_weights(config.drift, rng)
    products = _products(config, rng)
    if config.marketplace_titles:
        products["title"] = _marketplace_titles(products["title"], np.random.default_rng([config.seed, _TITLE_STREAM]))
    if config.batch:
        rng = np.random.default_rng([config.seed, _BATCH_STREAM, config.batch])
    queries, specs = _queries(config, rng, products, leaf_weights)
    judgments = _judgments(config, rng, products, specs)
    judgments, noise_truth = _flip_labels(judgments, config.label_noise, rng)
    interactions = _interactions(config, rng, queries, judgments)
    log.info(
        "sample: %d products, %d queries, %d judgments, %d interactions (seed=%d, noise=%.2f, drift=%.2f)",
        len(products), len(queries), len(judgments), len(interactions), config.seed, config.label_noise, config.drift,
    )
    tables = {"products": products, "queries": queries, "judgments": judgments, "interactions": interactions}
    # Generator-only columns (leading underscore) never leave this module.
    tables = {name: frame[[c for c in frame.columns if not c.startswith("_")]] for name, frame in tables.items()}
    return SampleData(config=config, tables=tables, noise_truth=noise_truth)


def _leaf_weights(drift: float, rng: np.random.Generator) -> np.ndarray:
    weights = np.ones(len(LEAVES))
    if drift > 0:
        # A fixed-by-seed handful of categories becomes popular (a season, a promotion).
        hot = np.random.default_rng(10_007).choice(len(LEAVES), size=5, replace=False)
        weights[hot] *= 1 + 12 * drift
    return weights / weights.sum()


def _products(config: SampleConfig, rng: np.random.Generator):
    import pandas as pd

    leaf_brands = {leaf.path: rng.choice(BRANDS, size=6, replace=False) for leaf in LEAVES}
    leaf_of = rng.choice(len(LEAVES), size=config.n_products)
    leaf_of[: len(LEAVES)] = np.arange(len(LEAVES))  # every category present
    price_factor = 1 + 0.5 * config.drift
    rows = []
    for i, li in enumerate(leaf_of):
        leaf = LEAVES[li]
        brand = str(rng.choice(leaf_brands[leaf.path]))
        adjective = str(rng.choice(ADJECTIVES))
        material = str(rng.choice(leaf.materials))
        color = str(rng.choice(COLORS))
        size = str(rng.choice(leaf.sizes))
        low, high = leaf.price_range
        price = round(float(np.exp(rng.uniform(np.log(low), np.log(high)))) * price_factor, 2) - 0.01
        # Catalogues name one thing many ways: titles use the type or one of its synonyms.
        type_name = leaf.product_type if rng.random() < 0.6 else str(rng.choice(leaf.synonyms))
        title = f"{brand} {adjective} {material.title()} {type_name.title()} - {color.title()}, {size}"
        # Descriptions cross-sell related items, as real copy does; word overlap alone misleads.
        partners = sorted(_COMPLEMENT_OF.get(leaf.name, ()))
        cross_sell = f" Pairs well with our {LEAVES[_LEAF_INDEX[partners[int(rng.integers(len(partners)))]]].product_type} range." if partners else ""
        description = (
            f"The {adjective.lower()} {type_name} from {brand} in {color} {material}. {leaf.feature}{cross_sell}"
            if rng.random() > 0.05 else None
        )
        rows.append({
            "product_id": f"P{i:06d}",
            "title": title,
            "description": description,
            "brand": brand if rng.random() > 0.03 else None,
            "category": leaf.path,
            "price": max(price, 0.99),
            "attributes": {"color": color, "material": material, "size": size},
            # Hidden generator fields, dropped before the table leaves this module.
            "_leaf": int(li), "_adjective": adjective, "_brand": brand,
        })
    return pd.DataFrame(rows)


def _marketplace_titles(titles, rng: np.random.Generator) -> list[str]:
    """"Brand Adj Material Type - Color, Size" -> "Brand Adj Material Type, <3 selling points> - Color, Size"."""
    out = []
    for title in titles:
        name, variant = title.rsplit(" - ", 1)
        points = ", ".join(rng.choice(SELLING_POINTS, size=SELLING_POINTS_PER_TITLE, replace=False))
        out.append(f"{name}, {points} - {variant}")
    return out


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swap
    if kind == 1:
        return word[:i] + word[i + 1:]  # drop
    return word[:i] + word[i] + word[i:]  # double


def _queries(config: SampleConfig, rng: np.random.Generator, products, leaf_weights):
    import pandas as pd

    kind_weights = (1 - config.drift) * KIND_WEIGHTS + config.drift * DRIFT_KIND_WEIGHTS
    by_leaf = products.groupby("_leaf").indices
    # "cheap" means the cheapest third of a category.
    cheap_cap = products.groupby("_leaf")["price"].quantile(1 / 3).round(2).to_dict()
    rows, specs, seen = [], [], set()
    attempts = 0
    while len(rows) < config.n_queries:
        attempts += 1
        if attempts > config.n_queries * 50:
            raise ConfigError(f"sample: could not write {config.n_queries} distinct queries; lower n_queries")
        li = int(rng.choice(len(LEAVES), p=leaf_weights))
        leaf = LEAVES[li]
        target = products.iloc[int(rng.choice(by_leaf[li]))]
        attrs = target["attributes"]
        kind = QUERY_KINDS[int(rng.choice(len(QUERY_KINDS), p=kind_weights))]
        spec: dict = {"leaf": li}
        type_word = leaf.product_type
        if kind == "exact":
            spec.update(brand=target["_brand"], color=attrs["color"], material=attrs["material"])
            text = f"{target['_brand']} {target['_adjective']} {attrs['material']} {type_word} {attrs['color']}"
        elif kind == "category":
            text = str(rng.choice([type_word, f"{type_word}s" if not type_word.endswith("s") else type_word,
                                   f"best {type_word}", f"cheap {type_word}"]))
            if text.startswith("cheap"):
                spec["price_max"] = float(cheap_cap[li])
        else:
            chosen = [a for a in ("color", "material", "size", "brand", "price") if rng.random() < 0.45] or ["color"]
            words = []
            for a in ("brand", "color", "material"):
                if a in chosen:
                    value = target["_brand"] if a == "brand" else attrs[a]
                    spec[a] = value
                    if a == "color" and value in COLOR_PARAPHRASES and rng.random() < 0.4:
                        value = COLOR_PARAPHRASES[value]  # shoppers say "dark blue" for navy
                    words.append(value.lower() if a != "brand" else value)
            noun = str(rng.choice(leaf.synonyms)) if kind == "synonym" else type_word
            words.append(noun)
            if "size" in chosen:
                spec["size"] = attrs["size"]
                size_word = SIZE_PARAPHRASES.get(attrs["size"]) if rng.random() < 0.5 else None
                words.append(size_word or (f"size {attrs['size']}" if len(attrs["size"]) <= 3 else attrs["size"]))
            if "price" in chosen:
                cap = int(np.ceil(target["price"] / 10.0) * 10)
                spec["price_max"] = float(cap)
                words.append(f"under ${cap}")
            text = " ".join(words)
            if kind == "misspelling":
                tokens = text.split()
                long_tokens = [i for i, t in enumerate(tokens) if len(t) >= 4 and t.isalpha()]
                if long_tokens:
                    j = int(rng.choice(long_tokens))
                    tokens[j] = _typo(tokens[j], rng)
                text = " ".join(tokens)
        text = text.strip()
        if text in seen or not text:
            continue
        seen.add(text)
        qid = f"Q{len(rows):05d}"
        locale = LOCALES[int(rng.integers(len(LOCALES)))]
        rows.append({"query_id": qid, "query": text, "locale": locale, "_kind": kind})
        specs.append(spec)
    return pd.DataFrame(rows), specs




def grade(spec: dict, product: dict) -> int:
    """ESCI grade of a product for a query spec: 3 Exact, 2 Substitute, 1 Complement, 0 Irrelevant."""
    leaf: Leaf = LEAVES[spec["leaf"]]
    p_leaf: Leaf = LEAVES[product["_leaf"]]
    if p_leaf.path == leaf.path:
        attrs = product["attributes"]
        mismatch = any(spec.get(a) is not None and spec[a] != attrs[a] for a in ("color", "material", "size"))
        mismatch |= spec.get("brand") is not None and spec["brand"] != product["_brand"]
        mismatch |= spec.get("price_max") is not None and product["price"] > spec["price_max"]
        return 2 if mismatch else 3
    if p_leaf.name in _COMPLEMENT_OF.get(leaf.name, ()) or p_leaf.group == leaf.group:
        return 1
    return 0


def _judgments(config: SampleConfig, rng: np.random.Generator, products, specs):
    import pandas as pd

    records = products.to_dict("records")
    by_leaf = products.groupby("_leaf").indices
    colors = products["attributes"].map(lambda a: a["color"]).to_numpy()
    materials = products["attributes"].map(lambda a: a["material"]).to_numpy()
    n_cand = config.candidates_per_query
    rows = []
    for qi, spec in enumerate(specs):
        leaf = LEAVES[spec["leaf"]]
        same_leaf = by_leaf[spec["leaf"]]
        exact = [i for i in same_leaf if grade(spec, records[i]) == 3]
        picks = list(rng.permutation(exact)[:4])
        picks += list(rng.choice(same_leaf, size=min(len(same_leaf), n_cand // 3), replace=False))
        related = [_LEAF_INDEX[name] for name in sorted(_COMPLEMENT_OF.get(leaf.name, ()))]  # sorted: set order varies by process
        related += [i for i, other in enumerate(LEAVES) if other.group == leaf.group and other.path != leaf.path]
        for li in related[:3]:
            picks += list(rng.choice(by_leaf[li], size=min(2, len(by_leaf[li])), replace=False))
        # Lexical traps: other categories sharing the query's colour or material.
        trap_mask = (colors == spec.get("color", "~")) | (materials == spec.get("material", "~"))
        trap_mask[same_leaf] = False
        traps = np.flatnonzero(trap_mask)
        if traps.size:
            picks += list(rng.choice(traps, size=min(traps.size, n_cand // 4), replace=False))
        picks = list(dict.fromkeys(int(i) for i in picks))[:n_cand]
        while len(picks) < n_cand:
            extra = int(rng.integers(len(records)))
            if extra not in picks:
                picks.append(extra)
        qid = f"Q{qi:05d}"
        for i in picks:
            rows.append({
                "query_id": qid,
                "product_id": records[i]["product_id"],
                "label": grade(spec, records[i]),
                "source": "human" if rng.random() < 0.9 else "clicks",
            })
    return pd.DataFrame(rows)


def _flip_labels(judgments, rate: float, rng: np.random.Generator):
    import pandas as pd

    judgments = judgments.copy()
    n_flip = int(round(rate * len(judgments)))
    idx = np.sort(rng.choice(len(judgments), size=n_flip, replace=False)) if n_flip else np.array([], dtype=int)
    clean = judgments["label"].to_numpy()[idx]
    # A flipped label moves to one of the three other grades.
    noisy = (clean + rng.integers(1, 4, size=idx.size)) % 4
    judgments.loc[judgments.index[idx], "label"] = noisy
    truth = pd.DataFrame({
        "query_id": judgments["query_id"].to_numpy()[idx],
        "product_id": judgments["product_id"].to_numpy()[idx],
        "clean_label": clean.astype("int64"),
        "noisy_label": noisy.astype("int64"),
    })
    judgments["label"] = judgments["label"].astype("int64")
    return judgments, truth


def _interactions(config: SampleConfig, rng: np.random.Generator, queries, judgments):
    import pandas as pd

    start = pd.Timestamp("2026-10-01", tz="UTC") + pd.Timedelta(days=28 * config.drift + 14 * config.batch)
    model_version = "bm25-v1" if config.drift == 0 else "shoprank-v1"
    rows = []
    session = 0
    for qid, group in judgments.groupby("query_id", sort=True):
        query = queries.loc[queries["query_id"] == qid, "query"].iloc[0]
        labels = group["label"].to_numpy()
        pids = group["product_id"].to_numpy()
        for _ in range(int(rng.poisson(config.sessions_per_query)) + 1):
            # A middling production ranker: relevance plus plenty of noise.
            order = np.argsort(-(0.6 * labels + rng.normal(0, 1.0, size=labels.size)), kind="stable")[:10]
            user = hashlib.sha256(f"user-{int(rng.integers(5000))}".encode()).hexdigest()[:16]
            ts = start + pd.Timedelta(seconds=float(rng.uniform(0, 14 * 86400)))
            clicked, purchased = CLICK_MODEL.session(labels[order], rng)
            for pos, j in enumerate(order, start=1):
                rows.append({
                    "event_id": f"E{len(rows):08d}", "ts": ts + pd.Timedelta(seconds=pos),
                    "session_id": f"S{session:07d}", "user_id": user, "query": query,
                    "product_id": pids[j], "position": pos, "clicked": bool(clicked[pos - 1]),
                    "purchased": bool(purchased[pos - 1]), "model_version": model_version,
                })
            session += 1
    return pd.DataFrame(rows)

