"""`shoprank manifests render | validate | generate`: the cluster install, offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from shoprank.core.common.errors import ShoprankError
from shoprank.pipelines.cli_app import console

manifests_app = typer.Typer(no_args_is_help=True, help="Render, validate and regenerate the kustomize manifests.")
_OVERLAY_HELP = "dev, prod, gpu, canary, canary-raw, or cluster (the cluster-scoped part, applied once by an admin)."


def _fail(exc: ShoprankError) -> typer.Exit:
    from rich.markup import escape

    console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@manifests_app.command("render")
def render_cmd(
    overlay: str = typer.Option(..., "--overlay", "-k", help=_OVERLAY_HELP),
    namespace: Optional[str] = typer.Option(None, help="Install into this namespace instead of the overlay's."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the YAML here instead of stdout."),
):
    """Print one overlay's objects as YAML (kubectl kustomize), ready for `kubectl apply -f -`."""
    from shoprank.pipelines.manifests_render import render

    try:
        text = render(overlay, namespace)
    except ShoprankError as exc:
        raise _fail(exc) from None
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"wrote overlay [bold]{overlay}[/bold] to {output}")


@manifests_app.command("validate")
def validate_cmd(
    overlay: list[str] = typer.Option(None, "--overlay", "-k", help=_OVERLAY_HELP + " Default: every one."),
    crd_dir: Optional[Path] = typer.Option(None, help="Folder of CRD YAML files (default: $SHOPRANK_CRD_DIR or "
                                                      "../shared/schemas/crds beside the repo)."),
    file: list[Path] = typer.Option(None, "--file", "-f", help="Check the objects of this YAML file (e.g. your own "
                                                              "overlay, rendered) instead of overlays."),
):
    """Render overlays and check every object: schemas (core kinds and CRDs) and the container policy."""
    import yaml

    from shoprank.pipelines.manifests_policy import violations
    from shoprank.pipelines.manifests_render import overlay_names, render_objects
    from shoprank.pipelines.manifests_validate import ManifestValidator

    problems = 0
    try:
        validator = ManifestValidator(crd_dir)
        sources = {str(p): p for p in file} if file else {name: None for name in (overlay or overlay_names())}
        for name, path in sources.items():
            if path is None:
                objects = render_objects(name)
            elif not path.is_file():
                raise typer.BadParameter(f"expected a YAML file, got {path}", param_hint="--file")
            else:
                objects = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
            found = [f"{key}: {e}" for key, errors in validator.errors_by_object(objects).items() for e in errors]
            found += [] if objects else ["no Kubernetes objects found"]
            found += violations(objects)
            problems += len(found)
            status = "[green]ok[/green]" if not found else f"[red]{len(found)} problem(s)[/red]"
            console.print(f"{name}: {len(objects)} objects, {status}")
            for line in found:
                console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    except ShoprankError as exc:
        raise _fail(exc) from None
    if problems:
        raise typer.Exit(1)


@manifests_app.command("generate")
def generate_cmd(
    check: bool = typer.Option(False, "--check", help="Only report files that differ from their builder's output."),
):
    """Write the manifests that the builders render (InferenceService, RayJob, TrainJob, monitoring)."""
    from shoprank.pipelines.manifests_sources import stale_files, write_generated

    if check:
        stale = stale_files()
        for rel in stale:
            console.print(f"[red]stale:[/red] manifests/{rel}")
        if stale:
            console.print("run `shoprank manifests generate` and commit the result")
            raise typer.Exit(1)
        console.print("every generated manifest matches its builder")
        return
    changed = write_generated()
    console.print(f"wrote {len(changed)} file(s)" + "".join(f"\n  manifests/{rel}" for rel in changed))
