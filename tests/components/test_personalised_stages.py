"""prepare -> train -> evaluate with a click log, via the components' python_func: the prepare stage
writes the sessions, the train stage personalises on them, the evaluate stage scores the held-out
sessions (personalised, plain, BM25) into its JSON, metrics and page; a sessions file without rows
changes nothing."""

import json

import pandas as pd
import pytest
from kfp.dsl import HTML, Artifact, Dataset, Metrics, Model

from shoprank.components.evaluate.component import evaluate_reranker
from shoprank.components.prepare.component import prepare_pairs
from shoprank.components.train.component import train_reranker
from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.core.text.pair_format import PairFormat


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("personal-stages")
    data = generate_sample(SampleConfig(seed=5, n_products=300, n_queries=60, taste_strength=1.5,
                                        n_shoppers=30)).write(root / "data")
    outputs = {"pairs": Dataset(uri=str(root / "pairs.parquet")), "metrics": Metrics(uri=str(root / "m.json")),
               "sessions": Dataset(uri=str(root / "sessions.parquet"))}
    prepare_pairs.python_func(validated_data=Dataset(uri=str(data)), clicks_policy="human", **outputs)
    return root, outputs


@pytest.fixture(scope="module")
def trained(prepared):
    from support.tiny_model import tiny_model_dir

    root, outputs = prepared
    metrics = Metrics(uri=str(root / "train-metrics.json"))
    train_reranker.python_func(pairs=outputs["pairs"], model=Model(uri=str(root / "model")), metrics=metrics,
                               sessions=outputs["sessions"], personalise=True, max_steps=3, batch_size=16,
                               max_length=64, checkpoint_every=0, init_model_dir=str(tiny_model_dir(root / "tiny")),
                               overrides_json=json.dumps({"num_threads": 1}))
    return root / "model", metrics


def test_prepare_writes_the_sessions_of_the_log(prepared):
    root, outputs = prepared
    sessions = pd.read_parquet(root / "sessions.parquet")
    metrics = outputs["metrics"].metadata
    assert metrics["sessions"] == sessions["query_id"].nunique() > 0 and metrics["session_rows"] == len(sessions)
    pairs = pd.read_parquet(root / "pairs.parquet")
    splits = dict(zip(pairs["query_id"], pairs["split"]))
    assert (sessions["split"] == sessions["base_query_id"].map(splits)).all()  # a test query's sessions are test
    assert metrics["sessions_with_history_train"] >= 50


def test_train_personalises_and_the_model_reads_history(trained):
    model_dir, metrics = trained
    assert metrics.metadata["personalised"] == 1.0 and metrics.metadata["session_rows_trained"] > 0
    assert metrics.metadata["distilled"] == 0.0  # the history-blind teacher is off for a personalised run
    assert PairFormat.stored(model_dir / "hf").shopper_history == 1


def _evaluate(tmp_path, prepared, model_dir, sessions_uri):
    root, outputs = prepared
    out = {"metrics": Metrics(uri=str(tmp_path / "metrics.json")), "report": HTML(uri=str(tmp_path / "report.html")),
           "evaluation": Artifact(uri=str(tmp_path / "evaluation.json"))}
    evaluate_reranker.python_func(pairs=outputs["pairs"], model=Model(uri=str(model_dir)), baselines="bm25",
                                  sessions=Dataset(uri=str(sessions_uri)), **out)
    return json.loads((tmp_path / "evaluation.json").read_text()), out


def test_evaluate_scores_held_out_sessions_per_ranker_and_group(tmp_path, prepared, trained):
    root, _ = prepared
    evaluation, out = _evaluate(tmp_path, prepared, trained[0], root / "sessions.parquet")
    sessions = evaluation["sessions"]
    frame = pd.read_parquet(root / "sessions.parquet")
    test = frame[frame["split"] == "test"]
    assert sessions["split"] == "test" and sessions["personalised_model"] is True
    assert sessions["sessions"] == test["query_id"].nunique()
    assert sessions["sessions_with_history"] == test.loc[test["has_history"], "query_id"].nunique() > 0
    assert set(sessions["rankers"]) == {"personalised", "plain", "bm25"}
    bought = test.groupby("query_id").filter(lambda s: 0 < s["purchased"].sum() < len(s))
    with_history = bought.drop_duplicates("query_id")["has_history"].sum()
    for ranker, metrics in sessions["rankers"].items():
        assert metrics["bought_history"]["sessions"] == with_history
        assert metrics["bought_all"]["sessions"] == bought["query_id"].nunique()
        assert 0 < metrics["clicked_all"]["ndcg@10"] <= 1
    # Without a history the personalised model is the plain one, exactly.
    rankers = sessions["rankers"]
    assert rankers["personalised"]["clicked_nohistory"] == rankers["plain"]["clicked_nohistory"]
    assert rankers["personalised"]["clicked_history"] != rankers["plain"]["clicked_history"]
    flat = out["metrics"].metadata
    assert flat["sessions_personalised_bought_history_ndcg10"] == rankers["personalised"]["bought_history"]["ndcg@10"]
    page = (tmp_path / "report.html").read_text()
    assert "Held-out search sessions (test split)" in page and "NDCG@10 personalised" in page


def test_a_sessions_file_without_rows_changes_nothing(tmp_path, prepared, trained):
    from shoprank.core.stages.sessions import write_sessions

    root, outputs = prepared
    pairs = pd.read_parquet(root / "pairs.parquet")
    write_sessions({}, pairs, tmp_path / "empty.parquet")  # no interactions table
    evaluation, out = _evaluate(tmp_path, prepared, trained[0], tmp_path / "empty.parquet")
    assert "sessions" not in evaluation
    assert not any(name.startswith("sessions_") for name in out["metrics"].metadata)
    assert "Held-out search sessions" not in (tmp_path / "report.html").read_text()
