"""Words with which a query asks for more than a product: a low price ("cheap mug").

Price verdicts (core/text/price_fit.py) act on them and spelling notes (core/text/query_spelling.py) restore
them when misspelt, so both read the same words.
"""

from __future__ import annotations

import re

LOW_PRICE_PATTERN = re.compile(
    r"\b(?:cheap|cheapest|inexpensive|affordable|budget|bargain|low[- ]cost|low[- ]price[ds]?)\b", re.IGNORECASE)
# The one-word forms, which a misspelling can be read back to.
LOW_PRICE_WORDS = ("cheap", "cheapest", "inexpensive", "affordable", "budget", "bargain")
