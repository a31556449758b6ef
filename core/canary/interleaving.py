"""Team-draft interleaving of two rankers' result lists, and click attribution.

Radlinski, Kurup and Joachims (2008), "How does clickthrough data reflect retrieval quality?",
CIKM, Algorithm 2 (team draft): like captains picking players, the team with fewer picks so far
(a coin flip on a tie) adds its highest-ranked result not yet shown. A click credits the team
that contributed the clicked result; the ranker whose team got more clicks wins the session,
equal counts (including no clicks) tie. Chapelle, Joachims, Radlinski and Yue (2012),
"Large-scale validation and analysis of interleaved search evaluation", ACM TOIS, sec. 3-4:
summarise with wins, losses and ties and test wins against losses with a sign (binomial) test.
"""

from __future__ import annotations

import dataclasses
from typing import Hashable, Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError

A, B = "A", "B"


@dataclasses.dataclass(frozen=True)
class Interleaved:
    """A merged result list and, per rank, the team ("A" or "B") that contributed it."""

    items: tuple
    teams: tuple

    def winner(self, clicked: Sequence[bool]) -> str | None:
        """"A" or "B" for the team with more clicked results, None for a tie (or no click).

        clicked: one bool per rank of `items` (extra ranks beyond the list are ignored).
        """
        a = sum(1 for team, c in zip(self.teams, clicked) if c and team == A)
        b = sum(1 for team, c in zip(self.teams, clicked) if c and team == B)
        return A if a > b else B if b > a else None


def team_draft(ranking_a: Sequence[Hashable], ranking_b: Sequence[Hashable], rng: np.random.Generator,
               length: int | None = None) -> Interleaved:
    """Team-draft interleave two rankings of the same candidates (best first).

    length: how many results the merged list holds (default: every distinct item of both).
    Raises ConfigError when length is negative. Consumes one coin flip from rng per round in
    which both teams have picked equally often.
    """
    if length is not None and length < 0:
        raise ConfigError(f"team draft: expected a non-negative length, got {length}")
    total = len(set(ranking_a) | set(ranking_b))
    length = total if length is None else min(length, total)
    items: list = []
    teams: list = []
    shown: set = set()
    picks = {A: 0, B: 0}
    cursor = {A: 0, B: 0}
    rankings = {A: list(ranking_a), B: list(ranking_b)}
    while len(items) < length:
        if picks[A] < picks[B]:
            team = A
        elif picks[B] < picks[A]:
            team = B
        else:
            team = A if rng.random() < 0.5 else B
        ranking = rankings[team]
        while cursor[team] < len(ranking) and ranking[cursor[team]] in shown:
            cursor[team] += 1
        if cursor[team] == len(ranking):  # this team has nothing new left: the other picks
            team = B if team == A else A
            ranking = rankings[team]
            while cursor[team] < len(ranking) and ranking[cursor[team]] in shown:
                cursor[team] += 1
        item = ranking[cursor[team]]
        items.append(item)
        teams.append(team)
        shown.add(item)
        picks[team] += 1
    return Interleaved(tuple(items), tuple(teams))
