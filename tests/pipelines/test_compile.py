import yaml

from shoprank.components.images import BASE_IMAGE
from shoprank.pipelines.compile_submit import compile_pipeline, pipelines

from golden_yaml import assert_matches_golden

GOLDEN_DIR = __import__("pathlib").Path(__file__).parent / "golden"


def test_every_pipeline_compiles_and_matches_its_golden_yaml(tmp_path):
    for name in pipelines():
        compiled = compile_pipeline(name, tmp_path / f"{name}.yaml")
        assert_matches_golden(compiled, GOLDEN_DIR / f"{name}.yaml", BASE_IMAGE)


def test_compiled_train_and_deploy_runs_validation_before_anything_else(tmp_path):
    spec = yaml.safe_load(compile_pipeline("shoprank-train-and-deploy", tmp_path / "p.yaml").read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["validate-data"]["dependentTasks"] == ["importer"]
    assert "validate-data" in tasks["prepare-pairs"]["dependentTasks"]
    assert spec["root"]["inputDefinitions"]["parameters"]["data_uri"]["parameterType"] == "STRING"
    for executor in spec["deploymentSpec"]["executors"].values():
        if "container" in executor:
            assert executor["container"]["image"] == BASE_IMAGE
