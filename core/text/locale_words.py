"""The words query features read, per locale: currency signs and words, price-limit words, low-price words.

A query's `locale` (the queries table's column, e.g. "en_US" or "en-GB") picks its table the
way BCP 47 lookup does (RFC 4647, section 3.4): the full tag first ("en_US"), then its language
("en"). A query without a locale reads as the pair format's default locale ("en_US" unless
configured). A locale with no table gets no price features (no price verdicts, no low-price
notes); spelling notes, which read only the candidates' words, apply in every locale.

Adding a locale is adding an entry to LOCALE_WORDS, e.g. "de": LocaleWords(currency_signs=("€",),
currency_words=("euro", "euros", "eur"), cap_words=("unter",), ...). Changing an existing entry
changes what models trained on it read: bump the price-verdict or spelling-note version then.
"""

from __future__ import annotations

import dataclasses
import re

DEFAULT_LOCALE = "en_US"


@dataclasses.dataclass(frozen=True)
class LocaleWords:
    """Words and number format of one locale's queries (plain text; matched case-insensitively).

    currency_signs: written before an amount ("$40"). currency_words: after it ("40 dollars").
    cap_words: upper-limit words that also bound a bare number at the end of the query ("under 40").
    at_most_words / at_least_words: other words before a price that bound it from above / below.
    between_words: the two words of "between $20 and $50". range_words: between two amounts ("$20-$50").
    typo_tolerant_words: limit words also read through one typo ("undeer"); long enough that a
        typo cannot make them out of another common word.
    low_price_words: one-word ways to ask for a low price ("cheap"); a misspelling reads back to them.
    low_price_phrases: more ways of several words ("low cost").
    group_separator / decimal_mark: of amounts ("1,299.99").
    """

    currency_signs: tuple[str, ...]
    currency_words: tuple[str, ...]
    cap_words: tuple[str, ...]
    at_most_words: tuple[str, ...]
    at_least_words: tuple[str, ...]
    between_words: tuple[str, str]
    range_words: tuple[str, ...]
    typo_tolerant_words: tuple[str, ...]
    low_price_words: tuple[str, ...]
    low_price_phrases: tuple[str, ...] = ()
    group_separator: str = ","
    decimal_mark: str = "."


ENGLISH = LocaleWords(
    currency_signs=("$", "€", "£"),
    currency_words=("dollar", "dollars", "usd", "bucks", "euro", "euros", "eur", "pound", "pounds", "gbp"),
    cap_words=("under", "below", "less than"),
    at_most_words=("cheaper than", "up to", "at most", "no more than", "max", "maximum", "within", "<", "<="),
    at_least_words=("over", "above", "more than", "at least", "min", "minimum", "from", ">", ">="),
    between_words=("between", "and"),
    range_words=("-", "–", "to"),
    typo_tolerant_words=("under", "below", "above"),
    low_price_words=("cheap", "cheapest", "inexpensive", "affordable", "budget", "bargain"),
    low_price_phrases=("low cost", "low-cost", "low price", "low-price", "low prices", "low-prices", "low priced",
                       "low-priced"),
)

# Keys: a language ("en") or a language and region ("en_US"); lookup tries the region first.
LOCALE_WORDS: dict[str, LocaleWords] = {"en": ENGLISH}


def locale_key(locale: str | None, default_locale: str = DEFAULT_LOCALE) -> str | None:
    """The LOCALE_WORDS key a query's locale reads with ("en-GB" -> "en"), or None when no table fits."""
    tag = (locale if isinstance(locale, str) and locale.strip() else default_locale).strip()
    language, _, region = tag.replace("-", "_").partition("_")
    language = language.lower()
    for key in (f"{language}_{region.upper()}" if region else None, language):
        if key in LOCALE_WORDS:
            return key
    return None


def alternatives(words) -> str:
    """A regex alternation of plain words, longest first (so "maximum" is tried before "max")."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
