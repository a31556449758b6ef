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
    namespace: str = "default",
    deployment_mode: str = "Serverless",
    stable_storage_uri: str = "",
    timeout_s: float = 600.0,
):
    """Deploy the blessed model as the canary candidate, next to the champion.

    target: "local" (the record the local canary serves from; nothing stays running) or
    "cluster" (the InferenceService `name` in `namespace`, created, or patched with the model as
    a canary at first_percent next to the live version; the model's URI is its storage URI).
    name: the deployment's name. champion_model_uri: the champion's model folder ("" = none: the
    model is the first and takes all traffic). first_percent: the candidate's first canary step.
    deployment_mode: Serverless (Knative) or RawDeployment (Standard, which needs
    stable_storage_uri, the live model's URI). timeout_s: the cluster rollout's wait.
    Writes the deployment record (JSON) to `inference_service`; its metadata holds target, name,
    revision (sha256 of the model's manifest), candidate_percent (and stable_revision locally).
    """
    from shoprank.components.images import BASE_IMAGE
    from shoprank.serving.rollout_stages import ClusterTarget, run_deploy_stage

    cluster = (ClusterTarget(namespace, model.uri, BASE_IMAGE, stable_storage_uri, deployment_mode, timeout_s=timeout_s)
               if target == "cluster" else None)
    record = run_deploy_stage(model.path, inference_service.path, target=target, name=name,
                              champion_dir=champion_model_uri or None, first_percent=first_percent, cluster=cluster)
    inference_service.metadata.update({k: record[k] for k in ("target", "name", "revision", "stable_revision",
                                                              "candidate_percent", "url") if k in record})
