"""`shoprank schedule`: a recurring run of monitor_and_retrain on a Kubeflow Pipelines cluster (kfp.Client).

    shoprank schedule --cron "0 6 * * *" --host https://kubeflow.example.com/pipeline \\
        --reference-uri s3://shop/windows/reference/ --current-uri s3://shop/windows/latest/

Kubeflow Pipelines reads cron expressions with a seconds field first (6 fields, robfig/cron);
a standard 5-field expression gets "0" seconds in front. The pipeline is compiled here and sent
inline with the recurring run (no pipeline upload); catch-up is off and at most one run at a time.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import List, Optional

import typer

from shoprank.pipelines.cli_app import app, console

log = logging.getLogger(__name__)
_FIELD = re.compile(r"^[0-9*?/,\-LW#A-Za-z]+$")
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def kfp_cron(expression: str) -> str:
    """The expression as Kubeflow Pipelines' scheduler reads it (6 fields, seconds first).

    Raises ConfigError for anything but 5 or 6 cron fields or a descriptor (@daily, @every 6h).
    """
    from shoprank.core.common.errors import ConfigError

    text = " ".join(expression.split())
    if text in _DESCRIPTORS or re.fullmatch(r"@every \d+[smh](\d+[smh])*", text):
        return text
    fields = text.split(" ")
    if len(fields) not in (5, 6) or not all(_FIELD.match(f) for f in fields):
        raise ConfigError(f"--cron: expected 5 cron fields (minute hour day month weekday), 6 with seconds first, "
                          f"or a descriptor such as @daily; got '{expression}'")
    return text if len(fields) == 6 else f"0 {text}"


def create_recurring_run(host: str, cron: str, params: dict, experiment: str, name: str,
                         namespace: str | None = None, service_account: str | None = None,
                         package: Path | None = None) -> dict:
    """Compile monitor_and_retrain (unless `package` is given) and create its recurring run; returns
    {recurring_run_id, experiment_id, cron}."""
    import tempfile

    import kfp

    from shoprank.core.common.errors import ConfigError
    from shoprank.pipelines.compile_submit import compile_pipeline
    from shoprank.pipelines.monitor_and_retrain import PIPELINE_NAME

    cron = kfp_cron(cron)
    if package is None:
        package = compile_pipeline(PIPELINE_NAME, Path(tempfile.mkdtemp()) / f"{PIPELINE_NAME}.yaml")
    try:
        client = kfp.Client(host=host, namespace=namespace)
        experiment_id = client.create_experiment(experiment, namespace=namespace).experiment_id
        run = client.create_recurring_run(
            experiment_id=experiment_id, job_name=name, description="shoprank drift check; retrains when drifted",
            cron_expression=cron, max_concurrency=1, no_catchup=True, params=params,
            pipeline_package_path=str(package), service_account=service_account)
    except Exception as exc:  # kfp_server_api.ApiException, urllib3 connection errors, kfp's healthz TimeoutError
        raise ConfigError(f"--host {host}: the Kubeflow Pipelines API could not be reached or refused the "
                          f"recurring run: {str(exc).strip()[:500]}") from exc
    log.info("recurring run %s (%s) in experiment %s on %s", run.recurring_run_id, cron, experiment_id, host)
    return {"recurring_run_id": run.recurring_run_id, "experiment_id": experiment_id, "cron": cron}


@app.command()
def schedule(
    cron: str = typer.Option(..., help='When to run, e.g. "0 6 * * *" (daily at 06:00) or @daily.'),
    host: str = typer.Option(..., help="Kubeflow Pipelines API endpoint, e.g. https://kubeflow.example.com/pipeline"),
    reference_uri: str = typer.Option(..., help="Reference window folder (object-store URI)."),
    current_uri: str = typer.Option(..., help="Current window folder, rewritten by your log export before each run."),
    data_uri: Optional[str] = typer.Option(None, help="Tables to retrain on when drifted (default: the current window)."),
    experiment: str = typer.Option("shoprank", help="Experiment name."),
    name: str = typer.Option("shoprank-monitor-and-retrain", help="Recurring run name."),
    namespace: Optional[str] = typer.Option(None, help="Kubeflow profile namespace (multi-user installs)."),
    service_account: Optional[str] = typer.Option(None, help="Account the run's pods use."),
    param: List[str] = typer.Option([], help="More pipeline parameters as KEY=VALUE, e.g. min_ndcg=0.6 (repeatable)."),
    package: Optional[Path] = typer.Option(None, help="Already compiled monitor_and_retrain IR YAML."),
):
    """Create a recurring run of monitor_and_retrain on a Kubeflow Pipelines cluster."""
    from shoprank.core.common.errors import ConfigError, ShoprankError

    try:
        params = {"reference_uri": reference_uri, "current_uri": current_uri, "data_uri": data_uri or current_uri}
        for item in param:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--param: expected KEY=VALUE, got '{item}'")
            params[key.strip()] = _typed(value)
        created = create_recurring_run(host, cron, params, experiment, name, namespace, service_account, package)
    except ShoprankError as exc:
        console.print(f"[red bold]schedule refused:[/red bold] {exc}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"recurring run [bold]{created['recurring_run_id']}[/bold] of monitor_and_retrain at cron "
                  f"'{created['cron']}' in experiment {created['experiment_id']} on {host}")


def _typed(value: str):
    """A parameter value as its JSON type where it parses (0.6 -> float, true -> bool), else the string."""
    import json

    try:
        return json.loads(value)
    except ValueError:
        return value
