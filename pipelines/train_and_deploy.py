"""train_and_deploy: validate -> prepare -> baseline (later stages join as they land)."""

from kfp import dsl

from shoprank.components.baseline.component import evaluate_baseline
from shoprank.components.prepare.component import prepare_pairs
from shoprank.components.validate.component import validate_data

PIPELINE_NAME = "shoprank-train-and-deploy"


@dsl.pipeline(name=PIPELINE_NAME, description="Validate data, build query-level splits and score the BM25 baseline.")
def train_and_deploy(data_uri: str, split_seed: int = 0):
    """data_uri: a folder (local path or object-store URI) holding the contract tables."""
    raw = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset, reimport=False)
    raw.set_display_name("import-data")
    validated = validate_data(raw_data=raw.output).set_display_name("validate")
    prepared = prepare_pairs(validated_data=validated.outputs["validated_data"], split_seed=split_seed)
    prepared.set_display_name("prepare")
    evaluate_baseline(pairs=prepared.outputs["pairs"]).set_display_name("baseline")
