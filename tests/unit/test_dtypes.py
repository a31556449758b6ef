"""The loader's acceptance of each column kind's spellings (core/data/dtypes.py), as the README lists them."""

import datetime

import numpy as np
import pandas as pd

from shoprank.core.data.dtypes import accept_values, to_utc_timestamps


def test_whole_numbers_in_any_dtype_become_int64_and_others_stay_as_they_arrived():
    for series in (pd.Series([0, 3.0]), pd.Series([0, 3], dtype="uint8"), pd.Series([0, 3], dtype="Int8"),
                   pd.Series(["0", "3.0"], dtype="string"), pd.Series([0.0, 3.0], dtype="float32")):
        accepted = accept_values(series, "int")
        assert str(accepted.dtype) == "int64" and accepted.tolist() == [0, 3], series.dtype
    mixed = accept_values(pd.Series([1, 2.5, "three", True, None], dtype=object), "int")
    assert mixed.tolist() == [1, 2.5, "three", True, None]  # the type rule names rows 1, 2 and 3
    with_null = accept_values(pd.Series([1, None], dtype="Int64"), "int")
    assert with_null.tolist() == [1, None] and with_null.dtype == object


def test_ids_flags_and_prices():
    assert accept_values(pd.Series([7, 12]), "str").tolist() == ["7", "12"]
    assert accept_values(pd.Series([7.0, None]), "str").tolist() == ["7", None]
    flags = accept_values(pd.Series(["TRUE", "no", 1, 0.0, "t"], dtype=object), "bool")
    assert flags.dtype == bool and flags.tolist() == [True, False, True, False, True]
    assert accept_values(pd.Series(["maybe", True], dtype=object), "bool").tolist() == ["maybe", True]
    prices = accept_values(pd.Series(["12.5", "inf", "12,50"], dtype=object), "float")
    assert prices.tolist()[:2] == [12.5, float("inf")] and prices.tolist()[2] == "12,50"
    assert str(accept_values(pd.Series([3, 4], dtype="Int32"), "float").dtype) == "float64"


def test_timestamps_in_iso_8601_forms_and_dtypes_convert_to_utc():
    texts = pd.Series(["2026-05-01T10:00:00", "2026-05-01T10:00:00+02:00", "2026-05-01 10:00:00Z", "2026-05-01",
                       datetime.datetime(2026, 5, 1, 10), "01/05/2026 10:00", "yesterday", 1777629600, None],
                      dtype=object)
    parsed = to_utc_timestamps(texts)
    expected = ["2026-05-01T10:00:00Z", "2026-05-01T08:00:00Z", "2026-05-01T10:00:00Z", "2026-05-01T00:00:00Z",
                "2026-05-01T10:00:00Z"]
    assert parsed[:5].tolist() == [pd.Timestamp(t) for t in expected]
    assert parsed[5:].isna().all()  # other date orders, free text and epoch numbers are not timestamps
    naive = pd.Series(pd.to_datetime(["2026-05-01 10:00"]))
    zoned = naive.dt.tz_localize("Europe/Berlin")
    assert to_utc_timestamps(naive)[0] == pd.Timestamp("2026-05-01T10:00Z")
    assert to_utc_timestamps(zoned)[0] == pd.Timestamp("2026-05-01T08:00Z")
    assert str(to_utc_timestamps(zoned).dtype).endswith("UTC]") and not np.any(to_utc_timestamps(naive).isna())


def test_a_text_without_offset_is_utc_whatever_the_row_before_says():
    # pandas 2.x parsing these together gives the naive one the +02:00 of the row before
    # (pandas-dev/pandas#61389); each must be read on its own terms.
    texts = pd.Series(["2026-03-01T10:03:00+02:00", "2026-03-01T10:04:00", "2026-03-01T10:05:00.5-0500",
                       "2026-03-02"], dtype=object)
    assert to_utc_timestamps(texts).tolist() == [pd.Timestamp("2026-03-01T08:03:00Z"), pd.Timestamp("2026-03-01T10:04:00Z"),
                                                 pd.Timestamp("2026-03-01T15:05:00.5Z"), pd.Timestamp("2026-03-02T00:00:00Z")]
