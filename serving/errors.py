"""Caller mistakes as typed errors with an HTTP status, and their JSON answers.

Every error names the field (a path such as instances[0].candidates[3].price) and says what
was expected and what arrived. They subclass kserve's InvalidInput, so anything that only knows
KServe's errors still answers 400 rather than 500.
"""

from __future__ import annotations

from http import HTTPStatus

from kserve.errors import InvalidInput

from shoprank.core.common.errors import ShoprankError


def describe(value, limit: int = 60) -> str:
    """A short description of what arrived: its JSON type and a clipped repr."""
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text[:limit]}{'...' if len(text) > limit else ''}" if value is not None else "null"


class RequestError(ShoprankError, InvalidInput):
    """A request the server will not score. status: its HTTP status; kind: the errors metric label."""

    status = HTTPStatus.BAD_REQUEST
    kind = "invalid_input"

    def __init__(self, field: str, message: str):
        self.field = field
        self.reason = f"{field}: {message}" if field else message
        super().__init__(self.reason)

    def __str__(self) -> str:
        return self.reason


class FieldError(RequestError):
    """A field is missing, has the wrong type or a value out of range (400; 422 on the rerank route,
    as FastAPI-based rerank servers answer)."""

    kind = "invalid_field"

    @classmethod
    def expected(cls, field: str, expected: str, value) -> "FieldError":
        return cls(field, f"expected {expected}, got {describe(value)}")

    @classmethod
    def missing(cls, field: str, expected: str) -> "FieldError":
        return cls(field, f"expected {expected}, got nothing (the field is missing)")


class MalformedBody(RequestError):
    """The body is not the JSON (or v2 tensor encoding) it should be."""

    kind = "malformed_body"


class TooLarge(RequestError):
    """Too many candidates or queries, a text over its limit, or a body over the size limit."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    kind = "too_large"
