"""Staging is SQL: one query per export table (assets/ingest/sql/stg_<table>.sql), its rules DuckDB macros."""

import re

import pytest

from assets.ingest.stage_in_sql import SQL_DIR
from pipeline.lib.tablespecs import TABLES
from tests.sql_rules import RULES


@pytest.mark.parametrize("spec", TABLES, ids=[t.name for t in TABLES])
def test_each_export_table_has_one_staging_query_typing_every_column_by_the_rule_of_its_type(spec):
    query = (SQL_DIR / f"stg_{spec.name}.sql").read_text(encoding="utf-8")
    typed = dict((alias, rule) for rule, alias in re.findall(r"^\s+(\w+)\(.*\)\s+AS (\w+),?$", query, re.M))
    assert list(typed) == [c.name for c in spec.columns]
    for column in spec.columns:
        assert typed[column.name] == ("vi_agency_name" if column.agency else RULES[column.type]), column.name


def test_every_rule_the_staging_queries_use_is_a_macro_of_macros_sql():
    macros = set(re.findall(r"CREATE OR REPLACE TEMP MACRO (\w+)", (SQL_DIR / "macros.sql").read_text(encoding="utf-8")))
    used = {rule for path in SQL_DIR.glob("stg_*.sql") for rule in re.findall(r"\b(vi_\w+)\(", path.read_text(encoding="utf-8"))}
    assert used and used <= macros


def test_in_memory_staging_spills_to_the_temporary_folder_never_the_working_directory(tmp_path, monkeypatch):
    from assets.ingest.stage_in_sql import memory_connection

    monkeypatch.chdir(tmp_path)
    spill = memory_connection().execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert not spill.startswith(str(tmp_path)) and "travinh-staging-spill" in spill
