"""kfp component `blessing`: the evaluation's verdict as the component's single output.

`dsl.If` branches on it. kfp.local (2.17) resolves a condition on a task's single output
(`<task>-Output`) but not on a named one such as evaluate's `blessed` (it reads
`evaluate-reranker-blessed` as a pipeline input and skips the branch), so the pipeline branches
on this task's output, which is the same boolean.
"""

from kfp import dsl
from kfp.dsl import Artifact, Input

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def blessing(evaluation: Input[Artifact]) -> bool:
    """True when the evaluate stage blessed the model (its `evaluation` artifact's metadata)."""
    return bool(evaluation.metadata.get("blessed", False))
