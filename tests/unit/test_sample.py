import pandas as pd

from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.core.data.schema import TABLES


def test_default_sample_is_big_and_varied_enough():
    sample = generate_sample(SampleConfig())
    products, queries, judgments = (sample.tables[t] for t in ("products", "queries", "judgments"))
    assert len(products) >= 3000 and products["category"].nunique() >= 25
    assert len(queries) >= 400 and queries["query"].is_unique
    assert judgments.groupby("query_id").size().min() >= 20
    assert set(judgments["label"]) == {0, 1, 2, 3}
    assert products["description"].notna().mean() > 0.9
    # titles carry brand, material, type, color and size
    first = products.iloc[0]
    assert first["brand"] in first["title"] and first["attributes"]["color"].title() in first["title"]
    # shoppers' misspellings and synonyms are present (words outside the catalogue vocabulary)
    vocabulary = set(" ".join(products["title"].str.lower()).replace(",", " ").split())
    unknown_words = {w for q in queries["query"].str.lower() for w in q.split() if w.isalpha() and w not in vocabulary}
    assert len(unknown_words) >= 20


def test_same_seed_same_data_other_seed_other_data():
    a = generate_sample(SampleConfig(seed=3, n_products=200, n_queries=40))
    b = generate_sample(SampleConfig(seed=3, n_products=200, n_queries=40))
    c = generate_sample(SampleConfig(seed=4, n_products=200, n_queries=40))
    for name in ("products", "queries", "judgments", "interactions"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert not a.tables["products"]["title"].equals(c.tables["products"]["title"])


def test_marketplace_titles_change_the_titles_only():
    plain = generate_sample(SampleConfig(seed=3, n_products=200, n_queries=40))
    long = generate_sample(SampleConfig(seed=3, n_products=200, n_queries=40, marketplace_titles=True))
    for name in ("queries", "judgments", "interactions"):
        pd.testing.assert_frame_equal(plain.tables[name], long.tables[name])
    before, after = plain.tables["products"], long.tables["products"]
    pd.testing.assert_frame_equal(before.drop(columns="title"), after.drop(columns="title"))
    for short_title, long_title in zip(before["title"], after["title"]):
        name, variant = short_title.rsplit(" - ", 1)
        assert long_title.startswith(name + ", ") and long_title.endswith(" - " + variant)
        assert len(long_title) > len(short_title) + 40


def test_tables_follow_the_contracts(small_sample):
    for name, frame in small_sample.tables.items():
        assert list(frame.columns) == TABLES[name].column_names


def test_label_noise_flips_the_recorded_rows_only():
    clean = generate_sample(SampleConfig(seed=5, n_products=200, n_queries=40))
    noisy = generate_sample(SampleConfig(seed=5, n_products=200, n_queries=40, label_noise=0.2))
    truth = noisy.noise_truth
    assert len(truth) == round(0.2 * len(noisy.tables["judgments"]))
    merged = clean.tables["judgments"].merge(noisy.tables["judgments"], on=["query_id", "product_id"], suffixes=("_clean", "_noisy"))
    changed = merged[merged["label_clean"] != merged["label_noisy"]]
    assert set(zip(changed["query_id"], changed["product_id"])) == set(zip(truth["query_id"], truth["product_id"]))
    assert (truth["clean_label"] != truth["noisy_label"]).all()


def test_drift_shifts_prices_and_query_mix():
    reference = generate_sample(SampleConfig(seed=1, n_products=500, n_queries=80))
    drifted = generate_sample(SampleConfig(seed=1, n_products=500, n_queries=80, drift=1.0))
    assert drifted.tables["products"]["price"].median() > 1.3 * reference.tables["products"]["price"].median()
    assert drifted.tables["interactions"]["ts"].min() > reference.tables["interactions"]["ts"].max() - pd.Timedelta(days=14)


def test_clicks_are_position_biased(small_sample):
    events = small_sample.tables["interactions"]
    ctr = events.groupby("position")["clicked"].mean()
    assert ctr.loc[1] > 2 * ctr.loc[8]
    assert events["user_id"].str.fullmatch(r"[0-9a-f]{16}").all()  # hashed, never raw


def test_sample_writes_truth_apart_from_the_tables(tmp_path):
    sample = generate_sample(SampleConfig(seed=2, n_products=100, n_queries=20, label_noise=0.1))
    out = sample.write(tmp_path, fmt="csv")
    assert sorted(p.name for p in out.glob("*.csv")) == ["interactions.csv", "judgments.csv", "products.csv", "queries.csv"]
    assert (out / "truth" / "label_noise.parquet").exists()


def test_same_seed_same_data_across_processes():
    """Python's hash seed differs per process; the sample must not depend on it."""
    import subprocess
    import sys

    code = ("from shoprank.core.data.sample.generator import SampleConfig, generate_sample; import hashlib; "
            "s = generate_sample(SampleConfig(seed=1, n_products=200, n_queries=40)); "
            "print(hashlib.sha256(s.tables['judgments'].to_csv().encode()).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, "PYTHONHASHSEED": seed},
                       capture_output=True, text=True, check=True).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
