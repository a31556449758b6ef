"""Simulated shoppers: queries drawn from a data set's queries, clicks and purchases from the
sample's click model (core/data/sample/click_model.py: position bias x label-driven attraction).

Session i of seed s is the same shopper whoever serves it: its query and user come from a block
of draws seeded with (s, i // BLOCK, 0) and its clicks from a row of uniforms seeded with
(s, i // BLOCK, 1), so two rankers shown to the same session meet the same random numbers (common
random numbers, up to the first click, after which a purchase draw shifts them).
A result's label is its judged grade for the query (0 when unjudged).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Iterator, Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.data.sample.click_model import ClickModel

PRODUCT_FIELDS = ("product_id", "title", "description", "brand", "category", "price", "attributes")
USER_POPULATION = 5000
BLOCK = 1024  # sessions whose draws are made together


@dataclasses.dataclass(frozen=True)
class Session:
    """One shopper's search: the query and the candidate products retrieval hands the ranker."""

    index: int
    session_id: str
    user_hash: str  # sha256 hex of the simulated user id; the raw id never leaves this module
    query_id: str
    query: str
    locale: str | None
    product_ids: tuple  # the query's judged products, in a per-query fixed shuffled order


@dataclasses.dataclass(frozen=True)
class Reaction:
    """What the shopper did on the page: one bool per shown rank."""

    clicked: np.ndarray
    purchased: np.ndarray
    labels: np.ndarray  # the shown products' labels, in shown order

    @property
    def any_click(self) -> bool:
        return bool(self.clicked.any())

    @property
    def any_purchase(self) -> bool:
        return bool(self.purchased.any())


class SimulatedShoppers:
    """A seeded stream of shopper sessions over a data set's queries and judgments.

    tables: the contract tables (queries and judgments required; products for `candidates`).
    query_ids: restrict sessions to these queries (e.g. held-out ones); default every judged query.
    Queries are drawn uniformly. Raises ConfigError when no query has a judged candidate.
    """

    def __init__(self, tables: dict, seed: int = 0, click_model: ClickModel = ClickModel(),
                 query_ids: Sequence[str] | None = None):
        queries, judgments = tables["queries"], tables["judgments"]
        self.seed = seed
        self.click_model = click_model
        self._labels: dict[str, dict[str, int]] = {}
        for qid, group in judgments.sort_values(["query_id", "product_id"], kind="stable").groupby("query_id", sort=True):
            self._labels[str(qid)] = dict(zip(group["product_id"].astype(str), group["label"].astype(int)))
        wanted = set(map(str, query_ids)) if query_ids is not None else None
        rows = queries[queries["query_id"].astype(str).isin(self._labels)]
        if wanted is not None:
            rows = rows[rows["query_id"].astype(str).isin(wanted)]
        rows = rows.sort_values("query_id", kind="stable")
        if rows.empty:
            raise ConfigError(f"simulated shoppers: expected queries with judged candidates, got none of {len(queries)} queries"
                              + (f" among the {len(wanted)} requested" if wanted is not None else ""))
        self._queries = list(zip(rows["query_id"].astype(str), rows["query"].astype(str),
                                 [None if v is None or v != v else str(v) for v in rows.get("locale", [None] * len(rows))]))
        self._candidates = {}
        for qid, _, _ in self._queries:
            pids = sorted(self._labels[qid])
            order = np.random.default_rng([seed, _stable_int(qid)]).permutation(len(pids))
            self._candidates[qid] = tuple(pids[i] for i in order)
        self._blocks: dict = {}
        products = tables.get("products")
        self._products = ({str(r["product_id"]): {k: r.get(k) for k in PRODUCT_FIELDS}
                           for r in products.to_dict("records")} if products is not None else {})

    @property
    def query_count(self) -> int:
        return len(self._queries)

    def session(self, index: int) -> Session:
        """Session number `index` (>= 0) of this seed's stream."""
        if index < 0:
            raise ConfigError(f"expected a session index >= 0, got {index}")
        block, row = divmod(index, BLOCK)
        queries, users = self._block(block, 0)
        qid, query, locale = self._queries[int(queries[row])]
        user = hashlib.sha256(f"shopper-{int(users[row])}".encode()).hexdigest()
        return Session(index, f"sim-{self.seed}-{index:08d}", user, qid, query, locale, self._candidates[qid])

    def _block(self, block: int, kind: int):
        """Draws of BLOCK sessions: kind 0 -> (query numbers, user numbers); kind 1 -> click uniforms."""
        key = (block, kind)
        cached = self._blocks.get(key)
        if cached is None:
            rng = np.random.default_rng([self.seed, block, kind])
            if kind == 0:
                cached = (rng.integers(len(self._queries), size=BLOCK), rng.integers(USER_POPULATION, size=BLOCK))
            else:  # enough for abandonment, a click and a purchase at every rank
                cached = rng.random((BLOCK, 1 + 2 * self.click_model.depth))
            if len(self._blocks) > 8:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[key] = cached
        return cached

    def sessions(self, n: int, start: int = 0) -> Iterator[Session]:
        """Sessions start .. start + n - 1."""
        return (self.session(i) for i in range(start, start + n))

    def labels(self, session: Session, product_ids: Sequence[str]) -> np.ndarray:
        """Judged labels of product_ids for the session's query (0 when unjudged)."""
        grades = self._labels[session.query_id]
        return np.array([grades.get(str(p), 0) for p in product_ids], dtype=int)

    def react(self, session: Session, shown: Sequence[str]) -> Reaction:
        """The shopper's clicks and purchases on a page listing `shown` (product ids, best first)."""
        labels = self.labels(session, shown)
        block, row = divmod(session.index, BLOCK)
        clicked, purchased = self.click_model.session(labels, _Uniforms(self._block(block, 1)[row]))
        return Reaction(clicked, purchased, labels)

    def candidates(self, session: Session) -> list[dict]:
        """The session's candidate products as records (PRODUCT_FIELDS), for a scoring request.

        Raises ConfigError when the tables had no products or lack one of the candidates."""
        missing = [p for p in session.product_ids if p not in self._products]
        if missing:
            raise ConfigError(f"simulated shoppers: expected products for every candidate of {session.query_id}, "
                              f"missing {missing[:5]}")
        return [dict(self._products[p]) for p in session.product_ids]


def _stable_int(text: str) -> int:
    """A process-independent integer for a string (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


class _Uniforms:
    """A row of pre-drawn uniforms handed out in order, where the click model asks a generator."""

    def __init__(self, values: np.ndarray):
        self._values = iter(values.tolist())

    def random(self) -> float:
        return next(self._values)
