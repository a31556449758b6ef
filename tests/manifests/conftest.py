"""Validate rendered Kubernetes objects against the real CRD openAPIV3Schema, offline.

The CRD files live outside the repo (SHOPRANK_CRD_DIR, default ../shared/schemas/crds beside
the repo root) and are read in place. A CRD schema becomes a JSON Schema by rewriting the
Kubernetes extensions the way the API server reads them:
- x-kubernetes-int-or-string: an integer or a string;
- x-kubernetes-preserve-unknown-fields: the object keeps fields the schema does not list;
- every other object with `properties` is closed (additionalProperties: false): the API
  server prunes unknown fields, and `kubectl apply --validate=strict` rejects them, so a
  misspelt field is an error here;
- top-level `metadata` needs a DNS-1123 `name` and string-valued labels and annotations.
CEL rules (x-kubernetes-validations) are not evaluated.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

CRD_DIR_ENV = "SHOPRANK_CRD_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": DNS1123_SUBDOMAIN},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}


def crd_dir() -> Path:
    return Path(os.environ.get(CRD_DIR_ENV, REPO_ROOT.parent / "shared" / "schemas" / "crds"))


def structural_to_jsonschema(schema):
    """A CRD structural schema rewritten as a plain JSON Schema (see the module docstring)."""
    if not isinstance(schema, dict):
        return schema
    # Recurse only through schema-valued keywords: a `properties` map may name a field
    # "description" or "type", which must not be read as a keyword.
    out = {k: v for k, v in schema.items() if k not in ("description", "x-kubernetes-validations")}
    if "properties" in out:
        out["properties"] = {name: structural_to_jsonschema(s) for name, s in out["properties"].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = structural_to_jsonschema(out[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [structural_to_jsonschema(s) for s in out[key]]
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


class CrdValidator:
    """Validates whole objects of one kind against its CRD's schema for their apiVersion."""

    def __init__(self, crd: dict):
        from jsonschema import Draft202012Validator

        self.kind = crd["spec"]["names"]["kind"]
        self.group = crd["spec"]["group"]
        self._validators = {}
        for version in crd["spec"]["versions"]:
            schema = structural_to_jsonschema(version["schema"]["openAPIV3Schema"])
            schema["properties"]["metadata"] = _METADATA
            schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
            self._validators[f"{self.group}/{version['name']}"] = Draft202012Validator(schema)

    def errors(self, obj: dict) -> list[str]:
        """Every schema violation, as 'path: message'; empty when the object is valid."""
        if obj.get("kind") != self.kind:
            return [f"kind: expected {self.kind}, got {obj.get('kind')!r}"]
        validator = self._validators.get(obj.get("apiVersion"))
        if validator is None:
            return [f"apiVersion: expected one of {sorted(self._validators)}, got {obj.get('apiVersion')!r}"]
        return [f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
                for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]

    def validate(self, obj: dict) -> None:
        errors = self.errors(obj)
        assert not errors, f"{self.kind} {obj.get('metadata', {}).get('name')!r} is invalid:\n" + "\n".join(errors)


def _load_crd(directory: Path, kind: str) -> dict | None:
    """The CRD defining `kind`; only files that mention the kind are parsed (they are large)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text()
        if f"kind: {kind}\n" not in text:
            continue
        for doc in yaml.load_all(text, Loader=loader):
            if doc and doc.get("kind") == "CustomResourceDefinition" and doc["spec"]["names"]["kind"] == kind:
                return doc
    return None


@pytest.fixture(scope="session")
def crd_validator():
    """crd_validator(kind) -> CrdValidator for that kind, from the CRDs in SHOPRANK_CRD_DIR."""
    directory = crd_dir()
    if not directory.is_dir():
        pytest.skip(f"CRD schemas not found at {directory}; set {CRD_DIR_ENV} to a folder of CRD YAML files")
    cache: dict[str, CrdValidator] = {}

    def get(kind: str) -> CrdValidator:
        if kind not in cache:
            crd = _load_crd(directory, kind)
            if crd is None:
                pytest.skip(f"no CRD for kind {kind} in {directory} (set {CRD_DIR_ENV})")
            cache[kind] = CrdValidator(crd)
        return cache[kind]

    return get
