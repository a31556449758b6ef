"""The sample's shoppers with tastes: off by default (the click log unchanged), on they steer clicks and purchases."""

import pandas as pd

from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.core.data.sample.tastes import PRICE_BANDS, price_band
from shoprank.core.data.sample.vocabulary import LEAVES

SMALL = dict(seed=7, n_products=300, n_queries=80)


def _bought_matches(sample):
    """Share of purchased (and of shown) products that match the buyer's favourite brand, colour, band."""
    events = sample.tables["interactions"].merge(sample.taste_truth, on="user_id")
    products = sample.tables["products"].set_index("product_id")
    shown = products.loc[events["product_id"]]
    leaf_of = {leaf.path: i for i, leaf in enumerate(LEAVES)}
    bands = [PRICE_BANDS[price_band(p, leaf_of[c])] for p, c in zip(shown["price"], shown["category"])]
    match = pd.DataFrame({
        "brand": (shown["brand"].to_numpy() == events["favourite_brand"].to_numpy()),
        "color": (shown["attributes"].map(lambda a: a["color"]).to_numpy() == events["favourite_color"].to_numpy()),
        "band": (pd.Series(bands).to_numpy() == events["favourite_price_band"].to_numpy()),
    })
    bought = events["purchased"].to_numpy()
    return match[bought].mean(), match.mean()


def test_no_tastes_by_default_and_strength_zero_changes_nothing(tmp_path):
    base = generate_sample(SampleConfig(**SMALL))
    zero = generate_sample(SampleConfig(**SMALL, taste_strength=0.0))
    assert base.taste_truth is None and zero.taste_truth is None
    for name, frame in base.tables.items():
        assert frame.equals(zero.tables[name]), name
    out = base.write(tmp_path / "plain")
    assert not (out / "truth" / "shopper_tastes.parquet").exists()


def test_tastes_steer_purchases_and_go_to_truth(tmp_path):
    config = SampleConfig(**SMALL, taste_strength=1.5, n_shoppers=100, sessions_per_query=8)
    sample = generate_sample(config)
    plain = generate_sample(SampleConfig(**SMALL, n_shoppers=100, sessions_per_query=8))
    for name in ("products", "queries", "judgments"):  # tastes change the click log only
        assert sample.tables[name].equals(plain.tables[name]), name
    bought, shown = _bought_matches(sample)
    for taste in ("brand", "color", "band"):
        assert bought[taste] > 1.5 * shown[taste], (taste, bought[taste], shown[taste])
    truth = sample.taste_truth
    assert set(truth["user_id"]) == set(sample.tables["interactions"]["user_id"])
    assert set(truth["favourite_price_band"]) <= set(PRICE_BANDS) and (truth["strength"] == 1.5).all()
    out = sample.write(tmp_path / "tastes")
    assert pd.read_parquet(out / "truth" / "shopper_tastes.parquet").equals(truth)
    assert generate_sample(config).tables["interactions"].equals(sample.tables["interactions"])  # same seed, same log
