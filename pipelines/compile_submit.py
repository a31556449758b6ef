"""Compile pipelines to IR YAML and submit them to a Kubeflow Pipelines endpoint."""

from __future__ import annotations

import logging
from pathlib import Path

from shoprank.core.common.errors import ConfigError, EndpointError

log = logging.getLogger(__name__)


def pipelines() -> dict:
    """Every pipeline shoprank ships, by name."""
    from .monitor_and_retrain import PIPELINE_NAME as MONITOR, monitor_and_retrain
    from .train_and_deploy import PIPELINE_NAME, train_and_deploy

    return {PIPELINE_NAME: train_and_deploy, MONITOR: monitor_and_retrain}


def resolve_name(name: str, available) -> str:
    """A pipeline's name as registered; its function's name works too (monitor_and_retrain)."""
    alias = "shoprank-" + name.replace("_", "-")
    return name if name in available or alias not in available else alias


def compile_pipeline(name: str, package_path: str | Path) -> Path:
    """Write the IR YAML of pipeline `name` to package_path."""
    from kfp import compiler

    available = pipelines()
    name = resolve_name(name, available)
    if name not in available:
        raise ConfigError(f"expected a pipeline name in {sorted(available)}, got '{name}'")
    package_path = Path(package_path)
    package_path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(available[name], str(package_path))
    log.info("compiled %s to %s", name, package_path)
    return package_path


def submit_pipeline(package_path: str | Path, host: str, experiment: str, arguments: dict, run_name: str | None = None,
                    namespace: str | None = None, service_account: str | None = None):
    """Create a run of a compiled pipeline on a Kubeflow Pipelines endpoint; returns the run id.

    namespace: the Kubeflow profile namespace (multi-user installs); service_account: the account
    the run's pods use (manifests/base/rbac.yaml's shoprank-pipeline may create what deploy needs).
    Raises EndpointError when the endpoint cannot be reached or refuses the run (the reason of the
    HTTP client or of the API server is in the message).
    """
    import kfp

    try:
        client = kfp.Client(host=host, **({"namespace": namespace} if namespace else {}))
        result = client.create_run_from_pipeline_package(
            str(package_path), arguments=arguments, experiment_name=experiment, run_name=run_name,
            namespace=namespace, service_account=service_account,
        )
    except Exception as exc:  # urllib3 / kfp_server_api raise many types; all mean "not submitted"
        raise EndpointError(f"could not submit to the Kubeflow Pipelines API at {host}: {_reason(exc)}") from exc
    log.info("submitted run %s to %s (experiment %s)", result.run_id, host, experiment)
    return result.run_id


def _reason(exc: BaseException) -> str:
    """The innermost cause of a client error, in one line (e.g. "Connection refused")."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"
