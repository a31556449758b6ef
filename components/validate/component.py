"""validate: Great Expectations gate. Bad data, or too little of it for the run, stops the pipeline here."""

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def validate_data(
    raw_data: Input[Dataset],
    validated_data: Output[Dataset],
    report: Output[HTML],
    metrics: Output[Metrics],
    value_method: str = "",
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    split_seed: int = 0,
):
    """Run the table suites on raw_data (a folder of Parquet/CSV files); fail closed.

    value_method and the split parameters (the same as the prepare and value components get)
    let it refuse a data set too small for the run: a split left without queries, a label too
    rare for confident learning. value_method "" skips the method's own needs.
    The HTML report (report.html) is written whether the data passes or not.
    """
    from shoprank.components.outputs import html_path, log_metrics
    from shoprank.core.data.split import SplitConfig
    from shoprank.validation.readiness import DataRequirements
    from shoprank.validation.stage import validate_data_dir

    requirements = DataRequirements(
        split=SplitConfig(validation_fraction=validation_fraction, test_fraction=test_fraction, seed=split_seed),
        value_method=value_method,
    )
    result = validate_data_dir(raw_data.path, validated_data.path, html_path(report), requirements)
    log_metrics(metrics, result)
