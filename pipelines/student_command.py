"""`shoprank student`: a smaller student of a trained model (upper layers pruned), served as any model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoprank.pipelines.cli_app import app, console


@app.command()
def student(
    model_dir: Path = typer.Argument(..., help="The trained model folder (hf/ inside)."),
    out: Path = typer.Argument(..., help="Folder for the student model (hf/, ONNX, int8 ONNX, manifest)."),
    layers: int = typer.Option(3, help="Transformer layers to keep (the lowest ones)."),
    pairs: Optional[Path] = typer.Option(None, help="Pairs Parquet to fine-tune the pruned model on; none = prune only."),
    max_steps: int = typer.Option(0, help="Fine-tuning budget in optimizer steps (with --pairs); 0 = the default epochs."),
):
    """Prune a trained model's upper layers (and optionally fine-tune it) into a faster student."""
    from shoprank.core.common.errors import ShoprankError
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.student import make_student

    try:
        result = make_student(model_dir, out, layers, pairs, TrainConfig(max_steps=max_steps or None))
    except ShoprankError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    where = result.get("student_dir", out)
    console.print(f"student with {layers} layers written to [bold]{where}[/bold]")
