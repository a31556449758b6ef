"""Imports point one way (DESIGN.md "Layout"), checked by reading every module's imports with ast.

pipelines -> components -> core and validation; serving -> core; trainer -> core; the deploy and
canary components also call serving (its one cluster I/O module and the local canary), inside
their bodies; core imports
none of them and no kfp, kubernetes, kserve or ray at module level; the server runs without the
pipeline SDK; a component module's top level imports only kfp, the standard library and
shoprank.components helpers (so compiling a pipeline never loads core).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "shoprank"
# Which of the package's top-level folders each folder may import (itself included).
ALLOWED = {
    "core": {"core"},
    "validation": {"validation", "core"},
    "components": {"components", "core", "validation", "serving"},  # deploy/canary apply through serving
    "pipelines": {"pipelines", "components", "core", "validation", "serving", "trainer"},
    "serving": {"serving", "core"},
    "trainer": {"trainer", "core"},
    "benchmarks": {"benchmarks", "core", "serving", "trainer"},
}
HEAVY_ENGINES = ("kfp", "kubernetes", "kserve", "ray")  # never at core's module level
NOT_IN_SERVING = ("kfp",)  # the server runs without the pipeline SDK
COMPONENT_TOP_LEVEL = {"kfp", "__future__"} | set(sys.stdlib_module_names)


def imports(tree: ast.Module, module: str, is_package: bool):
    """(imported module, line, at module level) for every import in a module; relative imports
    resolved, imports under `if TYPE_CHECKING:` skipped (they never run)."""
    package = module if is_package else module.rpartition(".")[0]

    def visit(node, top_level: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, top_level
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(parent + ([base] if base else []))
                # `from shoprank import core` imports shoprank.core: name what is imported too.
                for alias in child.names:
                    yield (f"{base}.{alias.name}" if alias.name != "*" else base), child.lineno, top_level
            inner = top_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from visit(child, inner)

    yield from visit(tree, True)


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts]), is_package


def violations(root: Path) -> list[str]:
    """Every import in the package folders under root that breaks a rule, as 'file:line: what'."""
    found = []
    for folder in ALLOWED:
        for path in sorted((root / folder).rglob("*.py")):
            module, is_package = module_name(path, root)
            where = path.relative_to(root)
            is_component_layer = folder == "components"
            for name, line, top_level in imports(ast.parse(path.read_text(), str(path)), module, is_package):
                top = name.split(".")[0]
                if top == PACKAGE:
                    layer = name.split(".")[1] if "." in name else ""
                    if layer in ALLOWED and layer not in ALLOWED[folder]:
                        found.append(f"{where}:{line}: {folder} imports {name} ({folder} may import {sorted(ALLOWED[folder])})")
                    if is_component_layer and top_level and layer != "components":
                        found.append(f"{where}:{line}: a component module imports {name} at module level "
                                     "(only kfp, the standard library and shoprank.components there)")
                    continue
                if folder == "core" and top_level and top in HEAVY_ENGINES:
                    found.append(f"{where}:{line}: core imports {name} at module level (import it inside a function)")
                if folder == "serving" and top in NOT_IN_SERVING:
                    found.append(f"{where}:{line}: serving imports {name} (the server runs without the pipeline SDK)")
                if is_component_layer and top_level and top not in COMPONENT_TOP_LEVEL:
                    found.append(f"{where}:{line}: a component module imports {name} at module level "
                                 "(only kfp, the standard library and shoprank.components there)")
    return found


def test_the_package_keeps_its_import_rules():
    assert violations(REPO_ROOT) == []


def test_the_check_reads_every_layer():
    counted = {folder: len(list((REPO_ROOT / folder).rglob("*.py"))) for folder in ALLOWED}
    assert all(counted[folder] > 0 for folder in ("core", "validation", "components", "pipelines", "trainer")), counted


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize("files, expected", [
    ({"core/a.py": "import kfp\n"}, "core/a.py:1: core imports kfp at module level"),
    ({"core/a.py": "try:\n    from ray import tune\nexcept ImportError:\n    tune = None\n"},
     "core/a.py:2: core imports ray.tune at module level"),
    ({"core/a.py": "class A:\n    import kubernetes\n"}, "core/a.py:2: core imports kubernetes at module level"),
    ({"core/a.py": "from shoprank.pipelines import cli\n"}, "core/a.py:1: core imports shoprank.pipelines"),
    ({"core/x/a.py": "from ...components import params\n"}, "core/x/a.py:1: core imports shoprank.components.params"),
    ({"core/a.py": "from shoprank import serving\n"}, "core/a.py:1: core imports shoprank.serving"),
    ({"core/a.py": "def f():\n    from shoprank.validation import runner\n"},
     "core/a.py:2: core imports shoprank.validation.runner"),
    ({"components/a/component.py": "from kfp import dsl\nimport pandas\n"},
     "components/a/component.py:2: a component module imports pandas at module level"),
    ({"components/a/component.py": "from shoprank.core.data import pairs\n"},
     "components/a/component.py:1: a component module imports shoprank.core.data.pairs at module level"),
    ({"components/params.py": "import numpy\n"}, "components/params.py:1: a component module imports numpy"),
    ({"components/a/component.py": "def body():\n    from shoprank.pipelines import cli\n"},
     "components/a/component.py:2: components imports shoprank.pipelines.cli"),
    ({"serving/app.py": "def f():\n    from kfp import dsl\n"}, "serving/app.py:2: serving imports kfp"),
    ({"serving/app.py": "from shoprank.trainer import cli\n"}, "serving/app.py:1: serving imports shoprank.trainer.cli"),
    ({"trainer/cli.py": "from shoprank.serving import app\n"}, "trainer/cli.py:1: trainer imports shoprank.serving.app"),
    ({"validation/a.py": "from ..components import params\n"}, "validation/a.py:1: validation imports shoprank.components.params"),
])
def test_the_check_fails_on_each_kind_of_violation(tmp_path, files, expected):
    found = violations(_write(tmp_path, files))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_what_the_rules_allow(tmp_path):
    root = _write(tmp_path, {
        "core/a.py": "import numpy\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import kfp\n"
                     "def f():\n    import ray\n    from kserve import Model\n",
        "core/b/__init__.py": "from . import c\nfrom .c import x\n",
        "components/a/component.py": "from kfp import dsl\nimport json\nfrom shoprank.components.images import BASE_IMAGE\n"
                                     "def body():\n    from shoprank.core.data.pairs import read_pairs\n",
        "pipelines/p.py": "from shoprank.components.a.component import body\nfrom shoprank.core import x\n",
        "serving/app.py": "import kserve\nfrom shoprank.core.ranking import reranker\n",
        "trainer/cli.py": "import argparse\nfrom shoprank.core.stages.train import run_train_stage\n",
    })
    assert violations(root) == []
