"""The quarterly schedule and the new-export sensor."""

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipeline.resources import PipelinePaths
from pipeline.schedules import TIMEZONE, quarterly_report_schedule, raw_exports_sensor

HCM = ZoneInfo(TIMEZONE)


@pytest.mark.parametrize("when, quarter", [
    (dt.datetime(2020, 7, 10, 8, 0, tzinfo=HCM), "2020-Q2"),
    (dt.datetime(2020, 4, 10, 8, 0, tzinfo=HCM), "2020-Q1"),
    (dt.datetime(2020, 10, 10, 8, 0, tzinfo=HCM), "2020-Q3"),
    (dt.datetime(2021, 1, 10, 8, 0, tzinfo=HCM), "2020-Q4"),  # across the year boundary
    (dt.datetime(2021, 1, 10, 1, 0, tzinfo=dt.timezone.utc), "2020-Q4"),  # 08:00 in Hồ Chí Minh city
])
def test_schedule_materializes_the_quarter_that_ended(when, quarter):
    result = quarterly_report_schedule(dg.build_schedule_context(scheduled_execution_time=when))
    assert isinstance(result, dg.RunRequest) and result.partition_key == quarter


def test_schedule_ticks_at_eight_on_the_tenth_day_after_each_quarter():
    from dagster._utils.schedules import cron_string_iterator  # how the daemon computes ticks

    start = dt.datetime(2020, 12, 31, 23, 0, tzinfo=HCM).timestamp()
    ticks = cron_string_iterator(start, quarterly_report_schedule.cron_schedule, quarterly_report_schedule.execution_timezone)
    assert [next(ticks) for _ in range(4)] == [dt.datetime(2021, m, 10, 8, 0, tzinfo=HCM) for m in (1, 4, 7, 10)]


def _tick(raw, cursor=None):
    context = dg.build_sensor_context(cursor=cursor, resources={"paths": PipelinePaths(raw_dir=str(raw), outputs_dir=str(raw))})
    result = raw_exports_sensor(context)
    requests = result if isinstance(result, list) else []
    return [r.partition_key for r in requests], context.cursor, result


def test_sensor_requests_new_and_changed_quarters_only(tmp_path):
    (tmp_path / "2020-Q2" / "mail").mkdir(parents=True)
    export = tmp_path / "2020-Q2" / "mail" / "a.xlsx"
    export.write_bytes(b"first")
    (tmp_path / "notes").mkdir()
    keys, cursor, _ = _tick(tmp_path)
    assert keys == ["2020-Q2"]
    keys, cursor, result = _tick(tmp_path, cursor)  # unchanged tree, e.g. after a restart with the stored cursor
    assert keys == [] and isinstance(result, dg.SkipReason)
    os.utime(export, (time.time() + 100, time.time() + 100))  # mtime only
    (tmp_path / "2020-Q2" / "mail" / "~$a.xlsx").write_bytes(b"lock")  # someone opened it in Excel
    keys, cursor, _ = _tick(tmp_path, cursor)
    assert keys == []
    export.write_bytes(b"resent by the agency")
    (tmp_path / "2020-Q1" / "dvc").mkdir(parents=True)
    (tmp_path / "2020-Q1" / "dvc" / "b.xls").write_bytes(b"x")
    keys, cursor, _ = _tick(tmp_path, cursor)
    assert keys == ["2020-Q1", "2020-Q2"]


def test_sensor_skips_a_quarter_that_has_not_ended(tmp_path):
    future = tmp_path / "2099-Q1" / "mail"
    future.mkdir(parents=True)
    (future / "a.xlsx").write_bytes(b"x")
    keys, _, result = _tick(tmp_path)
    assert keys == [] and "2099-Q1" in result.skip_message
