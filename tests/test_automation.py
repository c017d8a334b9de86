"""The quarterly schedule and the new-export sensor."""

import datetime as dt
import json
import os
import time
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipeline.orchestration.resources import PipelinePaths, WarehouseResource
from pipeline.orchestration.schedules import TIMEZONE, quarterly_report_schedule, raw_exports_sensor

HCM = ZoneInfo(TIMEZONE)


@pytest.mark.parametrize("when, quarter", [
    (dt.datetime(2020, 7, 10, 8, 0, tzinfo=HCM), "2020-Q2"),
    (dt.datetime(2020, 4, 10, 8, 0, tzinfo=HCM), "2020-Q1"),
    (dt.datetime(2020, 10, 10, 8, 0, tzinfo=HCM), "2020-Q3"),
    (dt.datetime(2021, 1, 10, 8, 0, tzinfo=HCM), "2020-Q4"),  # across the year boundary
    (dt.datetime(2021, 1, 10, 1, 0, tzinfo=dt.timezone.utc), "2020-Q4"),  # 08:00 in Hồ Chí Minh city
])
def test_schedule_materializes_the_quarter_that_ended(when, quarter, tmp_path):
    result = quarterly_report_schedule(dg.build_schedule_context(scheduled_execution_time=when,
                                                                 resources={"duckdb": _warehouse(tmp_path)}))
    assert [r.partition_key for r in result] == [quarter]  # one province: the key is the quarter


def test_schedule_ticks_at_eight_on_the_tenth_day_after_each_quarter():
    from dagster._utils.schedules import cron_string_iterator  # how the daemon computes ticks

    start = dt.datetime(2020, 12, 31, 23, 0, tzinfo=HCM).timestamp()
    ticks = cron_string_iterator(start, quarterly_report_schedule.cron_schedule, quarterly_report_schedule.execution_timezone)
    assert [next(ticks) for _ in range(4)] == [dt.datetime(2021, m, 10, 8, 0, tzinfo=HCM) for m in (1, 4, 7, 10)]


def _warehouse(folder) -> WarehouseResource:
    return WarehouseResource(database=str(folder / "wh" / "warehouse.duckdb"))


def _tick(raw, cursor=None, warehouse=None):
    context = dg.build_sensor_context(cursor=cursor, resources={
        "paths": PipelinePaths(raw_dir=str(raw), outputs_dir=str(raw)),
        "duckdb": warehouse or _warehouse(raw.parent / f"{raw.name}-warehouse")})
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
    assert keys == [] and "có tệp xuất cho 2099-Q1: quý đó chưa bắt đầu nên chưa là phân vùng" in result.skip_message


def test_partitions_reach_a_begun_quarter_whose_exports_arrived_but_not_a_future_one(tmp_path):
    from pipeline.orchestration.partitions import wanted_partition_keys

    today = dt.date(2026, 11, 25)
    assert wanted_partition_keys(today, tmp_path)[-1] == "2026-Q3"
    (tmp_path / "2027-Q1").mkdir()
    assert wanted_partition_keys(today, tmp_path)[-1] == "2026-Q3"
    (tmp_path / "2026-Q4").mkdir()
    keys = wanted_partition_keys(today, tmp_path)
    assert keys[0] == "2019-Q1" and keys[-1] == "2026-Q4" and len(keys) == 32
    assert wanted_partition_keys(dt.date(2027, 1, 1), tmp_path / "none")[-1] == "2026-Q4"


class _FakeWebserver:
    """Records the GraphQL requests a sensor sends to the webserver."""

    def __init__(self):
        import http.server
        import json
        import threading

        self.bodies = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                fake.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                reply = json.dumps({"data": {"reloadRepositoryLocation": {
                    "__typename": "WorkspaceLocationEntry", "name": "pipeline.definitions",
                    "locationOrLoadError": {"__typename": "RepositoryLocation", "name": "pipeline.definitions"},
                    "loadStatus": "LOADED"}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_sensor_reloads_the_code_location_for_a_quarter_it_lacks_then_waits(tmp_path, monkeypatch):
    from pipeline.orchestration.partitions import province_today, quarter_of

    current = quarter_of(province_today())
    (tmp_path / current / "mail").mkdir(parents=True)
    (tmp_path / current / "mail" / "a.xlsx").write_bytes(b"sent early")
    monkeypatch.delenv("PIPELINE_WEBSERVER", raising=False)
    keys, cursor, result = _tick(tmp_path)
    assert keys == [] and f"{current} chưa là phân vùng của mã đang được nạp" in result.skip_message
    assert "Deployment → Reload" in result.skip_message and current not in json.loads(cursor)

    webserver = _FakeWebserver()
    monkeypatch.setenv("PIPELINE_WEBSERVER", webserver.address)
    keys, cursor, result = _tick(tmp_path, json.dumps({}))
    assert keys == [] and f"đã yêu cầu {webserver.address} nạp lại mã pipeline.definitions" in result.skip_message
    for _ in range(100):
        if webserver.bodies:
            break
        time.sleep(0.05)
    assert "reloadRepositoryLocation" in webserver.bodies[0]["query"]
    assert webserver.bodies[0]["variables"] == {"repositoryLocationName": "pipeline.definitions"}
    keys, cursor, result = _tick(tmp_path, cursor)  # the reload takes a minute to reach the daemon
    assert "đang chờ lần nạp lại đã yêu cầu trước đó" in result.skip_message and len(webserver.bodies) == 1
    assert current not in json.loads(cursor)  # requested as soon as the reloaded location knows it
    webserver.server.shutdown()


@pytest.mark.parametrize("value, expected", [(None, 60), ("5", 5), ("0", None), ("soon", None)])
def test_the_sensor_interval_is_a_minute_unless_the_environment_says_otherwise(value, expected):
    from pipeline.orchestration.schedules import sensor_interval

    environ = {} if value is None else {"RAW_SENSOR_INTERVAL_SECONDS": value}
    if expected is None:
        with pytest.raises(ValueError, match=f"RAW_SENSOR_INTERVAL_SECONDS=“{value}” không phải một số giây nguyên"):
            sensor_interval(environ)
    else:
        assert sensor_interval(environ) == expected
