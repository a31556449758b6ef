"""Validate rendered Kubernetes objects offline: core kinds with kubernetes-validate, custom
resources against the real CRD openAPIV3Schema.

The CRD files are read in place from a folder (SHOPRANK_CRD_DIR; by default ../shared/schemas/crds
beside the repo root, or any folder of CRDs, e.g. `kubectl get crd NAME -o yaml` from your
cluster). A CRD schema becomes a JSON Schema by rewriting the Kubernetes extensions the way the
API server reads them:
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
from typing import Iterable

import yaml

from shoprank.core.common.errors import ConfigError

CRD_DIR_ENV = "SHOPRANK_CRD_DIR"
KUBERNETES_VERSION = "1.31"     # the API version core kinds are checked against
REPO_ROOT = Path(__file__).resolve().parents[1]
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
    """SHOPRANK_CRD_DIR, or ../shared/schemas/crds beside the repo root."""
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
        """Raise AssertionError listing every violation (for tests)."""
        errors = self.errors(obj)
        assert not errors, f"{self.kind} {obj.get('metadata', {}).get('name')!r} is invalid:\n" + "\n".join(errors)


def load_crd(directory: Path, kind: str) -> dict | None:
    """The CRD defining `kind`; only files that mention the kind are parsed (they are large)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(Path(directory).glob("*.yaml")):
        text = path.read_text()
        if f"kind: {kind}\n" not in text:
            continue
        for doc in yaml.load_all(text, Loader=loader):
            if doc and doc.get("kind") == "CustomResourceDefinition" and doc["spec"]["names"]["kind"] == kind:
                return doc
    return None


def is_core_kind(obj: dict) -> bool:
    """True for kinds of the Kubernetes API itself (groups without a dot, or *.k8s.io)."""
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def core_errors(obj: dict, version: str = KUBERNETES_VERSION) -> list[str]:
    """Violations of a core kind against the Kubernetes `version` schema (kubernetes-validate, strict)."""
    try:
        import kubernetes_validate
    except ImportError as exc:  # the light client has no validator
        raise ConfigError("validating core kinds needs kubernetes-validate: pip install 'shoprank[dev]'") from exc
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(str(p) for p in exc.absolute_path) or '<root>'}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [exc.message]
    return []


class ManifestValidator:
    """Validates any object: core kinds offline with kubernetes-validate, custom resources with
    the CRDs in `directory`. A kind with no CRD there is reported, never passed silently."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else crd_dir()
        if not self.directory.is_dir():
            raise ConfigError(f"CRD folder: expected a folder of CustomResourceDefinition YAML files at "
                              f"{self.directory} (set {CRD_DIR_ENV} or pass --crd-dir)")
        self._crds: dict[str, CrdValidator | None] = {}

    def crd(self, kind: str) -> CrdValidator | None:
        if kind not in self._crds:
            crd = load_crd(self.directory, kind)
            self._crds[kind] = CrdValidator(crd) if crd else None
        return self._crds[kind]

    def errors(self, obj: dict) -> list[str]:
        if is_core_kind(obj):
            return core_errors(obj)
        validator = self.crd(obj.get("kind", ""))
        if validator is None:
            return [f"no CRD for kind {obj.get('kind')!r} in {self.directory}"]
        return validator.errors(obj)

    def errors_by_object(self, objects: Iterable[dict]) -> dict[str, list[str]]:
        """{'Kind/name': [violations]} for every invalid object; empty when all are valid."""
        found = {}
        for obj in objects:
            errors = self.errors(obj)
            if errors:
                found[f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"] = errors
        return found
