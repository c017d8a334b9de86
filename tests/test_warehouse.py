import datetime as dt

import duckdb
import pandas as pd

from pipeline.lib.warehouse import replace_partition


def test_object_columns_are_written_with_their_values_whether_arrow_converts_them_or_not():
    columns = {"quarter": "VARCHAR", "day": "DATE", "ok": "BOOLEAN", "n": "BIGINT", "x": "DOUBLE", "code": "VARCHAR"}
    frame = pd.DataFrame({
        "quarter": ["2020-Q2"] * 3,
        "day": pd.Series([dt.date(2020, 4, 1), None, dt.date(2020, 6, 30)], dtype=object),
        "ok": pd.Series([True, None, False], dtype=object),
        "n": pd.Series([1, None, 3], dtype=object),
        "x": pd.Series([1.5, None, 2.0], dtype=object),
        "code": pd.Series(["1.004227", None, 7], dtype=object),  # mixed: left to DuckDB's own cast
    })
    conn = duckdb.connect()
    replace_partition(conn, [("t", columns, frame, {"quarter": "2020-Q2"})])
    assert conn.execute("SELECT day, ok, n, x, code FROM t ORDER BY rowid").fetchall() == [
        (dt.date(2020, 4, 1), True, 1, 1.5, "1.004227"), (None, None, None, None, None),
        (dt.date(2020, 6, 30), False, 3, 2.0, "7")]


def test_a_frame_of_convertible_object_columns_is_written_through_arrow():
    from pipeline.lib.warehouse import _as_arrow

    columns = {"day": "DATE", "n": "BIGINT"}
    frame = pd.DataFrame({"day": pd.Series([dt.date(2020, 4, 1), None], dtype=object),
                          "n": pd.Series([1, None], dtype=object)})
    assert [str(t) for t in _as_arrow(frame, columns).dtypes] == ["date32[day][pyarrow]", "int64[pyarrow]"]
    mixed = frame.assign(n=pd.Series([1, "x"], dtype=object))
    assert _as_arrow(mixed, columns) is mixed
