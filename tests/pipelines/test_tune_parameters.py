"""The pipeline exposes the tune component's ray_address, space_json and search_dir, with the component's defaults."""

import inspect

import yaml

from shoprank.components.tune.component import tune_hyperparameters
from shoprank.pipelines.compile_submit import compile_pipeline
from shoprank.pipelines.train_and_deploy import train_and_deploy

# pipeline parameter -> the tune component's parameter
PASSED = {"tune_trials": "trials", "tune_minutes": "minutes", "tune_ray_address": "ray_address",
          "tune_space_json": "space_json", "tune_search_dir": "search_dir"}


def test_the_compiled_pipeline_hands_its_tune_parameters_to_the_tune_task(tmp_path):
    pipeline = inspect.signature(train_and_deploy.pipeline_func).parameters
    component = inspect.signature(tune_hyperparameters.python_func).parameters
    for name, parameter in PASSED.items():
        assert pipeline[name].default == component[parameter].default, name
    spec = yaml.safe_load(compile_pipeline("shoprank-train-and-deploy", tmp_path / "p.yaml").read_text())
    assert set(PASSED) <= set(spec["root"]["inputDefinitions"]["parameters"])
    inputs = spec["root"]["dag"]["tasks"]["tune-hyperparameters"]["inputs"]["parameters"]
    for name, parameter in PASSED.items():
        assert inputs[parameter]["componentInputParameter"] == name
