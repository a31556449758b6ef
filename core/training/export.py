"""Export a trained reranker: fp32 ONNX, dynamically quantised int8 ONNX, and a manifest.

The ONNX graph comes from the TorchScript exporter (torch.onnx.export(dynamo=False)): it needs
nothing beyond torch and onnx, while the dynamo exporter also needs onnxscript. Batch and
sequence axes are dynamic. The manifest lists the sha256 of every file in the model directory,
so a server can refuse a model whose bytes changed after training.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import re
from pathlib import Path

from shoprank.core.common.errors import ShoprankError
from shoprank.core.ranking.artifact import HF_SUBDIR, MANIFEST_FILE, ONNX_FILE, ONNX_INT8_FILE, hf_model_dir

log = logging.getLogger(__name__)

OPSET = 17
MANIFEST_VERSION = 1
# Keys that differ between two exports of the same model (golden comparisons drop them).
VOLATILE_MANIFEST_KEYS = ("created_at",)


class ManifestError(ShoprankError):
    """A model directory does not match its manifest (missing, extra or changed files)."""


def export_onnx(model_dir: str | Path, onnx_path: str | Path | None = None, opset: int = OPSET) -> Path:
    """Write the HF model in model_dir (artifact dir or bare HF dir) as fp32 ONNX with dynamic
    batch and sequence axes; output `logits` of shape (batch, 1)."""
    import warnings

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    hf_dir = hf_model_dir(model_dir)
    onnx_path = Path(onnx_path) if onnx_path else Path(model_dir) / ONNX_FILE
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    model = AutoModelForSequenceClassification.from_pretrained(hf_dir, num_labels=1).eval()
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
    example = tokenizer(["example query"] * 2, ["an example product text"] * 2, return_tensors="pt", padding=True)
    wrapper = _LogitsOnly(model, input_names)
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    dynamic_axes["logits"] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            wrapper, tuple(example[n] for n in input_names), str(onnx_path),
            input_names=input_names, output_names=["logits"], dynamic_axes=dynamic_axes,
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )
    log.info("export: fp32 ONNX %s (%.1f MB)", onnx_path.name, onnx_path.stat().st_size / 1e6)
    return onnx_path


# The second matrix product of each feed-forward block (BERT's layer.N/output/dense, after GELU)
# stays fp32: its inputs' long-tailed range is what dynamic int8 rounds worst. On the sample's
# test split (67 queries, a 60-step model) full int8 lost 0.0070 NDCG@10 against fp32 (0.9614 vs
# 0.9684); keeping these 6 of 36 weight products in fp32 lost 0.0001 (0.9683), at about 15% of
# int8's speed gain (serving/README.md).
FP32_NODES = re.compile(r"/layer\.\d+/output/dense/MatMul$")


def quantize_int8(onnx_path: str | Path, out_path: str | Path | None = None) -> Path:
    """Dynamic int8 quantisation of the weights (activations quantised at run time), except the
    feed-forward output products (FP32_NODES). Per-channel scales keep the logits about twice as
    close to fp32 as one scale per tensor."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx_path = Path(onnx_path)
    out_path = Path(out_path) if out_path else onnx_path.with_name(ONNX_INT8_FILE)
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    keep_fp32 = [n.name for n in graph.node if n.op_type == "MatMul" and FP32_NODES.search(n.name)]
    quantize_dynamic(str(onnx_path), str(out_path), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=keep_fp32)
    log.info("export: int8 ONNX %s (%.1f MB, %d products kept fp32)", out_path.name, out_path.stat().st_size / 1e6,
             len(keep_fp32))
    return out_path


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _model_files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.rglob("*") if p.is_file() and p.relative_to(model_dir).as_posix() != MANIFEST_FILE)


def write_manifest(model_dir: str | Path, training_config: dict | None = None, data_fingerprint: str | None = None,
                   metrics: dict | None = None, extra: dict | None = None) -> dict:
    """Write <model_dir>/manifest.json: sha256 and size of every other file, plus provenance."""
    model_dir = Path(model_dir)
    files = {p.relative_to(model_dir).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in _model_files(model_dir)}
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "files": files,
        "training_config": training_config or {},
        "data_fingerprint": data_fingerprint,
        "metrics": metrics or {},
        "versions": _library_versions(),
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=_json_default))
    log.info("export: manifest with %d files", len(files))
    return manifest


def verify_manifest(model_dir: str | Path) -> dict:
    """The manifest when every listed file exists with its sha256 and no file is unlisted;
    raises ManifestError naming each mismatch otherwise."""
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST_FILE
    if not path.exists():
        raise ManifestError(f"expected {MANIFEST_FILE} in {model_dir}, found none")
    manifest = json.loads(path.read_text())
    listed = manifest.get("files", {})
    present = {p.relative_to(model_dir).as_posix() for p in _model_files(model_dir)}
    problems = [f"missing file {name}" for name in sorted(set(listed) - present)]
    problems += [f"unlisted file {name}" for name in sorted(present - set(listed))]
    for name in sorted(set(listed) & present):
        actual = sha256_file(model_dir / name)
        if actual != listed[name]["sha256"]:
            problems.append(f"{name}: sha256 expected {listed[name]['sha256'][:16]}..., got {actual[:16]}...")
    if problems:
        raise ManifestError(f"model directory {model_dir} does not match its manifest: " + "; ".join(problems))
    return manifest


def export_model_dir(model_dir: str | Path, training_config: dict | None = None, data_fingerprint: str | None = None,
                     metrics: dict | None = None, quantize: bool = True) -> dict:
    """Given <model_dir>/hf, add model.onnx, model.int8.onnx and manifest.json; return the manifest."""
    model_dir = Path(model_dir)
    if not (model_dir / HF_SUBDIR / "config.json").exists():
        raise ShoprankError(f"expected a trained HF model in {model_dir / HF_SUBDIR}, found none")
    onnx_path = export_onnx(model_dir)
    if quantize:
        quantize_int8(onnx_path)
    return write_manifest(model_dir, training_config, data_fingerprint, metrics)


class _LogitsOnly:
    """nn.Module wrapper (built lazily so this module imports without torch) returning logits."""

    def __new__(cls, model, input_names):
        import torch

        class LogitsOnly(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *inputs):
                return self.model(**dict(zip(input_names, inputs))).logits

        return LogitsOnly()


def _library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
