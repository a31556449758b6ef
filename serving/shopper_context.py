"""The optional shopper context of a request: `user.recent_items`, summarised for a personalised model.

    v1      {"instances": [{"query", "candidates", "user"?: {"recent_items": [...]}}]}
    rerank  {"query", "documents", "user"?: {"recent_items": [...]}}

recent_items: the shopper's recently clicked or bought products, most recent first, each a
product object (title required; brand, category, attributes read) or a bare title string. Never a
user id: the request carries what the shopper did, not who they are. A model trained with shopper
history (core/text/shopper_history.py) reads the summary after the query; any other model, or a
request without `user`, scores the query as it is.
"""

from __future__ import annotations

from typing import Any

from shoprank.core.text.shopper_history import history_summary
from shoprank.serving.config import ServingConfig
from shoprank.serving.errors import FieldError, TooLarge

MAX_RECENT_ITEMS = 50  # accepted per request; the summary reads the first few


def parse_user(value: Any, path: str, config: ServingConfig) -> str | None:
    """The summary of `user.recent_items` at `path` ("" for none), or None when there is no user.

    Raises FieldError (400) for a user that is not an object, unknown keys, recent_items that is
    not an array of titles or product objects; TooLarge (413) past MAX_RECENT_ITEMS items.
    """
    from shoprank.serving.requests import _limited, _product

    if value is None:
        return None
    if not isinstance(value, dict):
        raise FieldError.expected(path, 'an object with "recent_items" or null', value)
    unknown = sorted(set(value) - {"recent_items"})
    if unknown:
        raise FieldError(path, f"expected only recent_items, got unknown keys {unknown}")
    items = value.get("recent_items")
    if items is None:
        return ""
    if not isinstance(items, list):
        raise FieldError.expected(f"{path}.recent_items", "an array of product objects or titles", items)
    if len(items) > MAX_RECENT_ITEMS:
        raise TooLarge(f"{path}.recent_items", f"expected at most {MAX_RECENT_ITEMS} items, got {len(items)}")
    parsed = []
    for k, item in enumerate(items):
        item_path = f"{path}.recent_items[{k}]"
        if isinstance(item, str):
            if not item.strip():
                raise FieldError.expected(item_path, "a non-empty title or a product object", item)
            parsed.append(_limited(item, item_path, config))
        else:
            parsed.append(_product(item, item_path, config, require_id=False))
    return history_summary(parsed)
