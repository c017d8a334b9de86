import datetime as dt

import pytest

from pipeline.orchestration.partitions import (
    last_finished_quarter,
    previous_quarter,
    province_today,
    quarter_keys,
    quarter_window,
    report_partitions,
)


def test_definitions_load_with_every_stage():
    from pipeline.orchestration.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"stg_agencies", "stg_mailboxes", "stg_dossiers", "reconciliation", "indicators", "findings"} <= keys


def test_one_province_keeps_quarter_keys_from_2019_q1_to_last_finished_quarter():
    keys = report_partitions.get_partition_keys()
    assert keys[0] == "2019-Q1"
    assert keys[-1] == last_finished_quarter(province_today())  # raw/ has no folder for the quarter in progress
    assert "2020-Q2" in keys
    assert quarter_keys("2019-Q3") == ["2019-Q1", "2019-Q2", "2019-Q3"]


@pytest.mark.parametrize("key, first, last", [
    ("2020-Q1", dt.date(2020, 1, 1), dt.date(2020, 3, 31)),
    ("2020-Q2", dt.date(2020, 4, 1), dt.date(2020, 6, 30)),
    ("2020-Q4", dt.date(2020, 10, 1), dt.date(2020, 12, 31)),
])
def test_quarter_window_is_derived_from_the_key(key, first, last):
    assert quarter_window(key) == (first, last)


def test_quarter_arithmetic_crosses_the_year():
    assert previous_quarter("2021-Q1") == "2020-Q4"
    assert last_finished_quarter(dt.date(2021, 1, 10)) == "2020-Q4"
    with pytest.raises(ValueError):
        quarter_window("2020-5")


def test_every_staging_column_reaches_dagster_with_a_description(sample_runs):
    """The column schema of each staging table, as the UI shows it: every column named and described."""
    from pipeline.lib.tablespecs import TABLES

    _, runs = sample_runs
    schemas = {e.asset_key.to_user_string(): e.materialization.metadata["dagster/column_schema"].value
               for e in runs["2020-Q2"].get_asset_materialization_events() if e.asset_key.to_user_string().startswith("stg_")}
    assert set(schemas) == {t.staging_table for t in TABLES}
    undescribed = [(table, c.name) for table, schema in schemas.items() for c in schema.columns if not c.description]
    assert undescribed == []
    documents = {c.name: c.description for c in schemas["stg_documents"].columns}
    assert documents["form"].startswith("`Hình thức` (bắt buộc): một trong: electronic (`Điện tử`")
    assert documents["issuer_code"] == "mã trong danh mục của `Đơn vị ban hành` đã khớp (NULL: không khớp, có phát hiện)"
    assert documents["_row"] == "số dòng như Excel hiển thị"
    assert documents["doc_date"] == "`Ngày văn bản` (bắt buộc): ngày (ngày thực, số ngày của Excel hoặc văn bản, ngày trước tháng; bỏ giờ)"


def test_the_ui_describes_every_asset_check_and_the_job_in_the_catalogs_words():
    """The UI's descriptions are the catalog's Vietnamese (`[ui]`), not the docstrings written for developers."""
    from assets.reconcile.assets import GUARDS
    from pipeline.definitions import defs
    from pipeline.lib.messages import say
    from pipeline.lib.tablespecs import SOURCES

    graph = defs.resolve_asset_graph()
    staging = {spec.staging_table: say("ui.staging_table", title=spec.title, name=spec.name, source=source)
               for source, specs in SOURCES.items() for spec in specs}
    for key in graph.get_all_asset_keys():
        name = key.to_user_string()
        assert graph.get(key).description == staging.get(name) or graph.get(key).description == say(f"ui.asset_{name}"), name
    checks = {say("ui.check_table"), say("ui.check_all_present"), say("ui.check_figures_kept"), say("ui.check_no_errors"),
              *(say("ui.check_guard", name=name) for name in GUARDS)}
    described = {str(key): graph.get_check_spec(key).description for key in graph.asset_check_keys}
    assert described and all(text in checks for text in described.values()), described
    assert defs.resolve_job_def("quarterly_report").description == say("ui.job")


def test_the_metadata_lists_of_a_run_are_worded_in_vietnamese(sample_runs):
    _, runs = sample_runs
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in runs["2020-Q2"].get_asset_materialization_events()}
    manifest = metadata["raw_files"]["files"].value.splitlines()
    assert len(manifest) == metadata["raw_files"]["dagster/row_count"].value
    assert all(" dòng, sha256 " in line and "(nan)" not in line for line in manifest), manifest
    assert any(line.endswith("…") for line in manifest) and any(line.endswith(")") for line in manifest)  # reasons
    assert "- `mail/Danh sach hop thu 03072020.xlsx` đã nạp (" in metadata["stg_mailboxes"]["files"].value
    assert {line.split("` ")[1].split(",")[0] for line in manifest} == {"đã nạp", "bỏ qua"}
    assert metadata["stg_mailboxes"]["files"].value.endswith(" dòng)")
