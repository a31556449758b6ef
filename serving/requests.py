"""Parse the three request shapes into one form, RankRequest, checking every field.

    v1      {"instances": [{"query", "candidates": [{"product_id", "title", ...}], "top_n"?, "locale"?, "user"?}]}
    v2      Open Inference Protocol tensors: query BYTES [1], candidates BYTES [n] (JSON product
            objects or plain titles), product_ids BYTES [n] (optional), top_n INT [1] (optional)
    rerank  {"query", "documents": [str | object], "top_n"?, "return_documents"?, "model"?, "user"?}

"user": optional shopper context, {"recent_items": [...]} (serving/shopper_context.py).

A candidate is a product record with the products contract's fields (core/data/schema.py):
title (non-empty string; "text" is read as the title where a document has no title), product_id,
brand, category, description (strings or null), price (a finite number >= 0 or null) and
attributes (an object, a JSON object string or null). Other keys are ignored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from shoprank.serving.config import ServingConfig
from shoprank.serving.errors import FieldError, MalformedBody, TooLarge, describe
from shoprank.serving.shopper_context import parse_user

TEXT_FIELDS = ("brand", "category", "description")


@dataclass
class RankRequest:
    """One query and its candidates, checked."""

    query: str
    candidates: list[dict]
    product_ids: list[str]
    top_n: int | None = None
    locale: str | None = None
    history: str | None = None  # the shopper's recent items summarised (serving/shopper_context.py)
    scores: Any = field(default=None, repr=False)  # float32 array once scored


def parse_v1(body: Any, config: ServingConfig) -> list[RankRequest]:
    if isinstance(body, (bytes, str)):  # KServe passes bodies without a JSON content type through unread
        body = _json_body(body)
    if not isinstance(body, dict):
        raise FieldError.expected("body", 'a JSON object with "instances"', body)
    if "instances" not in body:
        raise FieldError.missing("instances", "an array of {query, candidates} objects")
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise FieldError.expected("instances", "a non-empty array of {query, candidates} objects", instances)
    if len(instances) > config.max_instances:
        raise TooLarge("instances", f"expected at most {config.max_instances} queries per request, "
                                    f"got {len(instances)}")
    requests = []
    for i, instance in enumerate(instances):
        path = f"instances[{i}]"
        if not isinstance(instance, dict):
            raise FieldError.expected(path, "an object with query and candidates", instance)
        query = _query(instance.get("query", _MISSING), f"{path}.query", config)
        if "candidates" not in instance:
            raise FieldError.missing(f"{path}.candidates", "an array of product objects")
        candidates = _candidate_list(instance["candidates"], f"{path}.candidates", config)
        parsed = [_product(c, f"{path}.candidates[{j}]", config, require_id=True) for j, c in enumerate(candidates)]
        requests.append(RankRequest(
            query=query, candidates=parsed, product_ids=_unique_ids([p["product_id"] for p in parsed],
                                                                    f"{path}.candidates[{{}}].product_id"),
            top_n=_top_n(instance.get("top_n"), f"{path}.top_n"),
            locale=_optional_text(instance.get("locale"), f"{path}.locale", 35),
            history=parse_user(instance.get("user"), f"{path}.user", config)))
    return requests


def parse_rerank(body: Any, config: ServingConfig) -> tuple[RankRequest, bool, str | None]:
    """(request, return_documents, model name asked for or None)."""
    if not isinstance(body, dict):
        raise FieldError.expected("body", 'a JSON object with "query" and "documents"', body)
    query = _query(body.get("query", _MISSING), "query", config)
    if "documents" not in body:
        raise FieldError.missing("documents", "an array of strings or product objects")
    documents = _candidate_list(body["documents"], "documents", config)
    parsed = []
    for j, doc in enumerate(documents):
        if isinstance(doc, str):
            doc = {"title": doc}
        elif isinstance(doc, dict) and "title" not in doc and "text" in doc:
            doc = {**doc, "title": doc["text"]}
        product = _product(doc, f"documents[{j}]", config, require_id=False)
        product.setdefault("product_id", str(j))
        parsed.append(product)
    return_documents = body.get("return_documents", False)
    if not isinstance(return_documents, bool):
        raise FieldError.expected("return_documents", "true or false", return_documents)
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise FieldError.expected("model", "a model name (string)", model)
    request = RankRequest(query=query, candidates=parsed,
                          product_ids=[p["product_id"] for p in parsed], top_n=_top_n(body.get("top_n"), "top_n"),
                          history=parse_user(body.get("user"), "user", config))
    return request, return_documents, model


def parse_v2(infer_request, config: ServingConfig) -> RankRequest:
    """From a kserve InferRequest: tensors query, candidates, product_ids?, top_n?."""
    inputs = {tensor.name: tensor for tensor in infer_request.inputs}
    unknown = sorted(set(inputs) - {"query", "candidates", "product_ids", "top_n"})
    if unknown:
        raise FieldError("inputs", f"expected tensors query, candidates and optionally product_ids and top_n, "
                                   f"got unknown {unknown}")
    if "query" not in inputs:
        raise FieldError.missing("inputs.query", "a BYTES tensor of shape [1]")
    query = _bytes_elements(inputs["query"], "inputs.query")
    if len(query) != 1:
        raise FieldError("inputs.query", f"expected exactly one element (shape [1]), got {len(query)} "
                                         f"(shape {list(inputs['query'].shape)})")
    query = _query(query[0], "inputs.query", config)
    if "candidates" not in inputs:
        raise FieldError.missing("inputs.candidates", "a BYTES tensor of shape [n]")
    texts = _bytes_elements(inputs["candidates"], "inputs.candidates")
    _candidate_list(texts, "inputs.candidates", config)
    candidates = [_product(_candidate_from_text(t, f"inputs.candidates[{j}]"), f"inputs.candidates[{j}]", config,
                           require_id=False) for j, t in enumerate(texts)]
    if "product_ids" in inputs:
        ids = _bytes_elements(inputs["product_ids"], "inputs.product_ids")
        if len(ids) != len(candidates):
            raise FieldError("inputs.product_ids", f"expected one id per candidate ({len(candidates)}), "
                                                   f"got {len(ids)}")
    else:
        ids = [c.get("product_id", str(j)) for j, c in enumerate(candidates)]
    top_n = None
    if "top_n" in inputs:
        tensor = inputs["top_n"]
        if tensor.datatype not in ("INT32", "INT64", "UINT32", "UINT64"):
            raise FieldError("inputs.top_n", f"expected datatype INT32 or INT64, got {tensor.datatype}")
        values = _flat(tensor.data)
        if len(values) != 1:
            raise FieldError("inputs.top_n", f"expected one element, got {len(values)}")
        top_n = _top_n(values[0] if not hasattr(values[0], "item") else values[0].item(), "inputs.top_n")
    elif infer_request.parameters and "top_n" in infer_request.parameters:
        top_n = _top_n(infer_request.parameters["top_n"], "parameters.top_n")
    return RankRequest(query=query, candidates=candidates,
                       product_ids=_unique_ids([str(i) for i in ids], "inputs.product_ids[{}]"), top_n=top_n)


_MISSING = object()


def _json_body(body: bytes | str):
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedBody("body", f"expected a JSON object, could not parse it ({exc})") from None


def _unique_ids(ids: list[str], path: str) -> list[str]:
    """The ids, or FieldError naming the first repeated one (ranked_product_ids could not tell them apart).
    path: the field's path with {} where the index goes."""
    seen: set[str] = set()
    for j, pid in enumerate(ids):
        if pid in seen:
            raise FieldError(path.format(j), f"expected unique product ids, got {pid!r} twice")
        seen.add(pid)
    return ids


def _query(value, path: str, config: ServingConfig) -> str:
    if value is _MISSING:
        raise FieldError.missing(path, "a non-empty string")
    if not isinstance(value, str):
        raise FieldError.expected(path, "a non-empty string", value)
    if not value.strip():
        raise FieldError.expected(path, "a non-empty string", value)
    if len(value) > config.max_query_chars:
        raise TooLarge(path, f"expected at most {config.max_query_chars} characters, got {len(value)}")
    return value


def _candidate_list(value, path: str, config: ServingConfig) -> list:
    if not isinstance(value, list):
        raise FieldError.expected(path, "a non-empty array", value)
    if not value:
        raise FieldError(path, "expected at least one candidate, got an empty array")
    if len(value) > config.max_candidates:
        raise TooLarge(path, f"expected at most {config.max_candidates} candidates, got {len(value)}")
    return value


def _product(value, path: str, config: ServingConfig, require_id: bool) -> dict:
    if not isinstance(value, dict):
        raise FieldError.expected(path, "a product object with a title", value)
    product: dict[str, Any] = {}
    if "product_id" in value or require_id:
        pid = value.get("product_id", _MISSING)
        if pid is _MISSING:
            raise FieldError.missing(f"{path}.product_id", "a non-empty string")
        if not isinstance(pid, str) or not pid:
            raise FieldError.expected(f"{path}.product_id", "a non-empty string", pid)
        product["product_id"] = _limited(pid, f"{path}.product_id", config)
    title = value.get("title", _MISSING)
    if title is _MISSING:
        raise FieldError.missing(f"{path}.title", "a non-empty string")
    if not isinstance(title, str) or not title.strip():
        raise FieldError.expected(f"{path}.title", "a non-empty string", title)
    product["title"] = _limited(title, f"{path}.title", config)
    for name in TEXT_FIELDS:
        text = value.get(name)
        if text is not None and not isinstance(text, str):
            raise FieldError.expected(f"{path}.{name}", "a string or null", text)
        product[name] = None if text is None else _limited(text, f"{path}.{name}", config)
    price = value.get("price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float))
                              or not math.isfinite(price) or price < 0):
        raise FieldError.expected(f"{path}.price", "a finite number >= 0 or null", price)
    product["price"] = None if price is None else float(price)
    product["attributes"] = _attributes(value.get("attributes"), f"{path}.attributes", config)
    return product


def _attributes(value, path: str, config: ServingConfig):
    if value is None:
        return None
    if isinstance(value, str):
        _limited(value, path, config)
        try:
            value = json.loads(value) if value.strip() else None
        except json.JSONDecodeError:
            raise FieldError.expected(path, "an object or a JSON object string", value) from None
        if value is None:
            return None
    if not isinstance(value, dict):
        raise FieldError.expected(path, "an object or a JSON object string", value)
    if sum(len(str(k)) + len(str(v)) for k, v in value.items()) > config.max_field_chars:
        raise TooLarge(path, f"expected at most {config.max_field_chars} characters of keys and values")
    return value


def _limited(text: str, path: str, config: ServingConfig) -> str:
    if len(text) > config.max_field_chars:
        raise TooLarge(path, f"expected at most {config.max_field_chars} characters, got {len(text)}")
    return text


def _optional_text(value, path: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise FieldError.expected(path, f"a string of at most {limit} characters or null", value)
    return value


def _top_n(value, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FieldError.expected(path, "an integer >= 1", value)
    return value


def _flat(data) -> list:
    if hasattr(data, "tolist"):
        data = data.tolist()
    out: list = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def _bytes_elements(tensor, path: str) -> list[str]:
    if tensor.datatype != "BYTES":
        raise FieldError(path, f"expected datatype BYTES, got {tensor.datatype}")
    shape = list(tensor.shape or [])
    if not shape or any(not isinstance(d, int) or d < 0 for d in shape):
        raise FieldError(path, f"expected a shape of non-negative integers, got {shape}")
    values = _flat(tensor.data if tensor.data is not None else [])
    if len(values) != math.prod(shape):
        raise FieldError(path, f"shape {shape} holds {math.prod(shape)} elements, data has {len(values)}")
    out = []
    for k, v in enumerate(values):
        if isinstance(v, bytes):
            try:
                v = v.decode("utf-8")
            except UnicodeDecodeError:
                raise FieldError(f"{path}[{k}]", "expected UTF-8 text, got undecodable bytes") from None
        if not isinstance(v, str):
            raise FieldError.expected(f"{path}[{k}]", "a string", v)
        out.append(v)
    return out


def _candidate_from_text(text: str, path: str) -> dict:
    """A v2 candidate element: a JSON product object, or plain text read as the title."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedBody(path, f"expected a JSON product object, got {describe(text)} ({exc.msg})") from None
        return value
    return {"title": text}


def ranked(scores: Sequence[float], top_n: int | None) -> list[int]:
    """Indices best first (ties keep input order), cut to top_n."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    return order[:top_n] if top_n else order
