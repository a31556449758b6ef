"""`shoprank` command line: the app and its small commands (sample, compile, submit).

Larger commands live in their own modules and register on the same app when imported below.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from shoprank.pipelines.cli_app import DEFAULT_PIPELINE, app, console
from shoprank.pipelines.run_command import run  # noqa: F401  (importing registers `run`)
from shoprank.pipelines.canary_command import canary  # noqa: F401  (importing registers `canary`)
from shoprank.pipelines.drift_command import drift  # noqa: F401  (registers `drift`)
from shoprank.pipelines.schedule_command import schedule  # noqa: F401  (registers `schedule`)
from shoprank.pipelines.serve_command import serve  # noqa: F401  (registers `serve`)
from shoprank.pipelines.student_command import student  # noqa: F401  (registers `student`)
from shoprank.pipelines.manifests_command import manifests_app

app.add_typer(manifests_app, name="manifests")


@app.command()
def sample(
    out: Path = typer.Argument(..., help="Folder to write products, queries, judgments, interactions."),
    seed: int = typer.Option(0, help="Every random choice derives from it."),
    products: int = typer.Option(3000, help="Number of products."),
    queries: int = typer.Option(400, help="Number of queries."),
    label_noise: float = typer.Option(0.0, help="Share of judgments flipped to another grade (truth in OUT/truth/)."),
    drift: float = typer.Option(0.0, help="0 = reference batch; up to 1 = shifted queries, categories, prices."),
    batch: int = typer.Option(0, help="A later fortnight of the same shop: same catalogue, fresh queries and traffic."),
    marketplace_titles: bool = typer.Option(
        False, help="Long titles as marketplaces write them (selling points between name and variant)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
):
    """Write the built-in sample data to a folder."""
    from shoprank.core.common.errors import ConfigError
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample

    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"--format: expected 'parquet' or 'csv', got '{fmt}'")
    config = SampleConfig(seed=seed, n_products=products, n_queries=queries, label_noise=label_noise, drift=drift,
                          marketplace_titles=marketplace_titles, batch=batch)
    path = generate_sample(config).write(out, fmt)
    console.print(f"sample data written to [bold]{path}[/bold]")


@app.command("compile")
def compile_cmd(
    output: Path = typer.Option(Path("train_and_deploy.yaml"), "--output", "-o", help="IR YAML to write."),
    pipeline: str = typer.Option(DEFAULT_PIPELINE, help="Pipeline name."),
):
    """Compile a pipeline to Kubeflow Pipelines IR YAML."""
    from shoprank.pipelines.compile_submit import compile_pipeline

    path = compile_pipeline(pipeline, output)
    console.print(f"compiled [bold]{pipeline}[/bold] to {path}")


@app.command()
def submit(
    host: str = typer.Option(..., help="Kubeflow Pipelines API endpoint, e.g. https://kubeflow.example.com/pipeline"),
    data_uri: str = typer.Option(..., help="Object-store folder with the tables, e.g. s3://bucket/shop/"),
    experiment: str = typer.Option("shoprank", help="Experiment name."),
    pipeline: str = typer.Option(DEFAULT_PIPELINE, help="Pipeline name."),
    package: Optional[Path] = typer.Option(None, help="Already compiled IR YAML; compiled now when absent."),
    namespace: Optional[str] = typer.Option(None, help="Kubeflow profile namespace (multi-user installs)."),
    service_account: Optional[str] = typer.Option(None, help="Account the run's pods use, e.g. shoprank-pipeline."),
):
    """Compile (if needed) and submit a run to a Kubeflow Pipelines cluster."""
    import tempfile

    from shoprank.pipelines.compile_submit import compile_pipeline, submit_pipeline

    if package is None:
        package = compile_pipeline(pipeline, Path(tempfile.mkdtemp()) / f"{pipeline}.yaml")
    run_id = submit_pipeline(package, host, experiment, {"data_uri": data_uri}, namespace=namespace,
                             service_account=service_account)
    console.print(f"submitted run [bold]{run_id}[/bold] to {host}")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
