"""kfp component `tune_hyperparameters`: Ray Tune (ASHA) over short fine-tunes."""
