"""kfp component `deploy_model`: a thin body around shoprank.serving.rollout_stages.run_deploy_stage."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def deploy_model(
    model: Input[Model],
    inference_service: Output[Artifact],
    target: str = "local",
    name: str = "shoprank-reranker",
    champion_model_uri: str = "",
    first_percent: int = 10,
):
    """Deploy the blessed model as the canary candidate, next to the champion.

    target: "local" (the record the local canary serves from; nothing stays running) or
    "cluster" (refused for now: the InferenceService builder is not wired in). name: the
    deployment's name. champion_model_uri: the champion's model folder ("" = none: the model is
    the first and takes all traffic). first_percent: the candidate's first canary step.
    Writes the deployment record (JSON) to `inference_service`; its metadata holds name,
    revision (sha256 of the model's manifest), stable_revision and candidate_percent.
    """
    from shoprank.serving.rollout_stages import run_deploy_stage

    record = run_deploy_stage(model.path, inference_service.path, target=target, name=name,
                              champion_dir=champion_model_uri or None, first_percent=first_percent)
    inference_service.metadata.update({k: record[k] for k in ("target", "name", "revision", "stable_revision",
                                                              "candidate_percent")})
