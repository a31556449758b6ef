"""The sample's queries, written the ways shoppers write them, each with the spec that grades its candidates."""

from __future__ import annotations

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.data.sample.config import SampleConfig
from shoprank.core.data.sample.vocabulary import LEAVES, LOCALES

QUERY_KINDS = ("exact", "attribute", "category", "misspelling", "synonym")
# Share of each query kind, and how drift moves it (more typos and browsing).
KIND_WEIGHTS = np.array([0.15, 0.35, 0.15, 0.15, 0.20])
DRIFT_KIND_WEIGHTS = np.array([0.05, 0.25, 0.30, 0.30, 0.10])
COLOR_PARAPHRASES = {"navy": "dark blue", "grey": "gray", "beige": "tan", "olive": "khaki", "purple": "violet", "brown": "chocolate"}
SIZE_PARAPHRASES = {"S": "small", "M": "medium", "L": "large", "XL": "extra large", "XS": "extra small"}


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swap
    if kind == 1:
        return word[:i] + word[i + 1:]  # drop
    return word[:i] + word[i] + word[i:]  # double


def generate_queries(config: SampleConfig, rng: np.random.Generator, products, leaf_weights):
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
