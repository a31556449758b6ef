"""Run a pipeline on this machine with kfp.local (SubprocessRunner, the installed environment)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def run_locally(pipeline_func, out_dir: str | Path, **arguments):
    """Execute `pipeline_func` with kfp.local; artifacts land under out_dir/artifacts."""
    from kfp import local

    artifacts = Path(out_dir).resolve() / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(artifacts), raise_on_error=True)
    log.info("local run of %s with %s", getattr(pipeline_func, "name", pipeline_func), arguments)
    return pipeline_func(**arguments)


def latest_run_dir(out_dir: str | Path) -> Path | None:
    """The newest pipeline run folder under out_dir/artifacts."""
    runs = [p for p in (Path(out_dir) / "artifacts").iterdir() if p.is_dir()] if (Path(out_dir) / "artifacts").exists() else []
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def collect_stage_outputs(run_dir: str | Path) -> dict:
    """Per task: metrics (the output named `metrics`), output parameters and artifact paths.

    A task that failed has no executor output; its folder still lists what it wrote
    (the validation report, for example), and it is marked failed.
    """
    stages: dict = {}
    for task_dir in sorted(p for p in Path(run_dir).iterdir() if p.is_dir()):
        executor_output = task_dir / "executor_output.json"
        if not executor_output.exists():
            stages[task_dir.name] = {"failed": True, "metrics": {}, "parameters": {},
                                     "artifacts": {p.name: str(p) for p in sorted(task_dir.iterdir())}}
            continue
        data = json.loads(executor_output.read_text())
        metrics, files, metadata = {}, {}, {}
        for name, group in (data.get("artifacts") or {}).items():
            for artifact in group.get("artifacts", []):
                if name == "metrics":
                    metrics.update(artifact.get("metadata") or {})
                else:
                    files[name] = artifact.get("uri", "")
                    if artifact.get("metadata"):
                        metadata[name] = artifact["metadata"]
        stages[task_dir.name] = {"failed": False, "metrics": metrics, "parameters": data.get("parameterValues") or {},
                                 "artifacts": files, "metadata": metadata}
    return stages
