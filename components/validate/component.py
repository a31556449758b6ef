"""validate: Great Expectations gate. Bad data stops the pipeline here."""

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def validate_data(
    raw_data: Input[Dataset],
    validated_data: Output[Dataset],
    report: Output[HTML],
    metrics: Output[Metrics],
):
    """Run the table suites on raw_data (a folder of Parquet/CSV files); fail closed.

    The HTML report is written whether the data passes or not.
    """
    from shoprank.validation.stage import validate_data_dir

    result = validate_data_dir(raw_data.path, validated_data.path, report.path)
    for name, value in result.items():
        metrics.log_metric(name, value)
