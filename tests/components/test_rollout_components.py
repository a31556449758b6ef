"""deploy and canary components via python_func: the deployment record, and a first model's promotion."""

import json

import pytest
from kfp.dsl import HTML, Artifact, Dataset, Markdown, Metrics, Model

from shoprank.components.canary.component import canary_rollout
from shoprank.components.deploy.component import deploy_model
from shoprank.core.common.errors import ConfigError


@pytest.fixture
def model_dirs(tmp_path):
    folders = {}
    for name in ("candidate", "champion"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"files": {}, "name": name}))
        folders[name] = folder
    return folders


def test_deploy_records_candidate_and_champion_revisions(tmp_path, model_dirs):
    artifact = Artifact(uri=str(tmp_path / "isvc"))
    deploy_model.python_func(model=Model(uri=str(model_dirs["candidate"])), inference_service=artifact,
                             champion_model_uri=str(model_dirs["champion"]))
    record = json.loads((tmp_path / "isvc").read_text())
    assert record["stable_model_dir"] == str(model_dirs["champion"]) and record["candidate_percent"] == 10
    assert len(record["revision"]) == 64 and record["revision"] != record["stable_revision"]
    assert artifact.metadata["revision"] == record["revision"] and artifact.metadata["target"] == "local"


def test_deploy_refuses_what_it_cannot_do(tmp_path, model_dirs):
    with pytest.raises(ConfigError, match="target in \\('local', 'cluster'\\), got 'moon'"):
        deploy_model.python_func(model=Model(uri=str(model_dirs["candidate"])), inference_service=Artifact(uri=str(tmp_path / "a")),
                                 target="moon")
    with pytest.raises(ConfigError, match="champion's model folder"):
        deploy_model.python_func(model=Model(uri=str(model_dirs["candidate"])), inference_service=Artifact(uri=str(tmp_path / "b")),
                                 champion_model_uri=str(tmp_path / "gone"))


def test_first_model_is_promoted_without_a_canary(tmp_path, model_dirs, small_data_dir):
    isvc = Artifact(uri=str(tmp_path / "isvc"))
    deploy_model.python_func(model=Model(uri=str(model_dirs["candidate"])), inference_service=isvc)
    outputs = dict(decision=Markdown(uri=str(tmp_path / "decision.md")), report=HTML(uri=str(tmp_path / "decision.html")),
                   metrics=Metrics(uri=str(tmp_path / "metrics.json")), canary=Artifact(uri=str(tmp_path / "canary")))
    result = canary_rollout.python_func(inference_service=isvc, validated_data=Dataset(uri=str(small_data_dir)),
                                        pairs=Dataset(uri=str(tmp_path / "unused.parquet")), **outputs)
    assert result.promoted is True and result.verdict == "promote"
    assert "no champion" in (tmp_path / "decision.md").read_text()
    assert outputs["canary"].metadata["live_model_dir"] == str(model_dirs["candidate"].resolve())
    assert outputs["metrics"].metadata["promoted"] == 1.0
