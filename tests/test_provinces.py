"""Provinces as partitions, on the local profile (SQLite catalogs): each province's folders, its partitions, its
runs from the command line, and one clear line for each bad setting (tests/test_production.py has PostgreSQL)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import isolated_env
from tests.services import free_port
from tests.test_production import second_profile

ROOT = Path(__file__).resolve().parents[1]


def command(args: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def one_clear_line(done: subprocess.CompletedProcess) -> str:
    """The command failed with exit status 2 and one line on stderr, no traceback; that line."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr.strip()


@pytest.fixture()
def profiles(tmp_path, monkeypatch):
    second_profile(tmp_path / "profiles")
    monkeypatch.setenv("ORGANIZATION_PROFILE", str(tmp_path / "profiles"))
    monkeypatch.delenv("DEFAULT_PROVINCE", raising=False)
    return tmp_path / "profiles"


def test_each_province_has_its_landing_zone_warehouse_and_outputs_and_the_default_keeps_today_s(profiles, tmp_path):
    from pipeline.lib.provinces import place, province_names

    assert province_names() == ["tra-vinh", "ben-tre"]
    default = place("tra-vinh", raw_root="raw", warehouse="warehouse/warehouse.duckdb", outputs="warehouse/outputs")
    assert (default.raw_dir, default.warehouse, default.outputs_dir) == (
        Path("raw"), Path("warehouse/warehouse.duckdb"), Path("warehouse/outputs"))
    other = place("ben-tre", raw_root="raw", warehouse="warehouse/warehouse.duckdb", outputs="warehouse/outputs")
    assert (other.raw_dir, other.warehouse, other.outputs_dir) == (
        Path("raw/ben-tre"), Path("warehouse/provinces/ben-tre/warehouse.duckdb"), Path("warehouse/outputs/ben-tre"))


def test_a_province_s_own_report_template_beside_its_profile_is_the_one_its_draft_uses(profiles):
    import shutil

    from assets.outputs.report import TEMPLATE, province_template

    assert province_template(profiles / "ben-tre.toml") == TEMPLATE  # none of its own: the packaged wording
    shutil.copy(TEMPLATE, profiles / "ben-tre.docx")
    assert province_template(profiles / "ben-tre.toml") == profiles / "ben-tre.docx"
    assert province_template(profiles / "tra-vinh.toml") == TEMPLATE


def test_one_profile_file_is_the_only_province(tmp_path, monkeypatch):
    from pipeline.lib.provinces import province_names

    monkeypatch.setenv("ORGANIZATION_PROFILE", str(ROOT / "pipeline" / "profile" / "tra-vinh.toml"))
    assert province_names() == ["tra-vinh"]


def test_two_provinces_make_province_by_quarter_partitions_and_one_keeps_quarter_keys(profiles, tmp_path):
    script = ("import json; from pipeline.orchestration.partitions import report_partitions as p; "
              "print(json.dumps([type(p).__name__, p.get_partition_keys()[:2], len(p.get_partition_keys())]))")
    env = {**os.environ, "RAW_DIR": str(tmp_path / "raw")}
    two = json.loads(subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                                    check=True).stdout)
    del env["ORGANIZATION_PROFILE"]
    one = json.loads(subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                                    check=True).stdout)
    assert two[0] == "MultiPartitionsDefinition" and two[1] == ["tra-vinh|2019-Q1", "tra-vinh|2019-Q2"]
    assert one[0] == "StaticPartitionsDefinition" and one[1] == ["2019-Q1", "2019-Q2"] and two[2] == 2 * one[2]


def test_the_sensor_requests_each_province_s_quarter_and_names_a_folder_that_is_no_province(profiles, tmp_path):
    from pipeline.orchestration.partitions import unknown_province_folders
    from pipeline.orchestration.resources import PipelinePaths, WarehouseResource
    from pipeline.orchestration.schedules import raw_exports_sensor

    raw = tmp_path / "raw"
    for folder in ("2020-Q2/mail", "ben-tre/2020-Q2/mail", "quang-nam/2020-Q2/mail"):
        (raw / folder).mkdir(parents=True)
        (raw / folder / "a.xlsx").write_bytes(folder.encode())
    (raw / "sample-truth").mkdir()  # a folder without quarters is nobody's landing zone: not named
    context = dg.build_sensor_context(resources={
        "paths": PipelinePaths(raw_dir=str(raw), outputs_dir=str(tmp_path / "out")),
        "duckdb": WarehouseResource(database=str(tmp_path / "wh" / "warehouse.duckdb"))})
    requests = raw_exports_sensor(context)
    assert sorted(r.partition_key for r in requests) == ["ben-tre|2020-Q2", "tra-vinh|2020-Q2"]
    assert sorted(json.loads(context.cursor)) == ["2020-Q2", "ben-tre/2020-Q2"]
    assert unknown_province_folders(raw) == [raw / "quang-nam"]


@pytest.fixture(scope="module")
def second_province(sample_raw, second_sample_raw, tmp_path_factory):
    """Bến Tre's 2020-Q2 run from the command line on the local profile, beside Trà Vinh's landing zone."""
    folder = tmp_path_factory.mktemp("provinces")
    raw = folder / "raw"
    raw.mkdir()
    (raw / "2020-Q2").symlink_to(sample_raw / "2020-Q2", target_is_directory=True)
    (raw / "ben-tre").symlink_to(second_sample_raw, target_is_directory=True)
    second_profile(folder / "profiles")
    env = {**isolated_env(folder, raw), "ORGANIZATION_PROFILE": str(folder / "profiles")}
    done = command(["run", "2020-Q2", "--province", "ben-tre"], env, timeout=900)
    return {"env": env, "raw": raw, "done": done, "warehouse": Path(env["WAREHOUSE_PATH"])}


def test_a_run_of_one_province_from_the_command_line_computes_its_own_figures(second_province):
    import duckdb

    done = second_province["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2020-Q2 (ben-tre)" in done.stdout
    warehouse = second_province["warehouse"]
    assert not warehouse.exists()  # Trà Vinh's working file: untouched by Bến Tre's run
    own = warehouse.parent / "provinces" / "ben-tre" / "warehouse.duckdb"
    truth = json.loads((second_province["raw"] / "ben-tre" / "sample-truth" / "2020-Q2.json").read_text())["indicators"]
    with duckdb.connect(str(own), read_only=True) as conn:
        got = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
        files = [f for (f,) in conn.execute("SELECT DISTINCT path FROM raw_files").fetchall()]
    for indicator_id, expected in truth.items():
        assert got[indicator_id] is not None and math.isclose(got[indicator_id], expected, rel_tol=1e-12), indicator_id
    assert files and (warehouse.parent / "outputs" / "ben-tre" / "2020-Q2" / "phu-luc-2020-Q2.xlsx").is_file()


def test_check_with_a_province_and_no_path_reads_that_province_s_landing_zone(second_province):
    done = command(["check", "--province", "ben-tre"], second_province["env"])
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert "ben-tre/2020-Q2/mail" in done.stdout and "ben-tre/2020-Q1/dvc" in done.stdout


# --- bad settings: one line naming what to fix, exit status 2 -----------------------------------------------

def test_a_postgresql_that_is_down_is_one_line(second_province):
    env = {**second_province["env"], "PIPELINE_POSTGRES_URL": f"postgresql://pipeline:bi-mat@127.0.0.1:{free_port()}/pipeline"}
    line = one_clear_line(command(["run", "2020-Q2", "--province", "ben-tre"], env))
    assert "không kết nối được PostgreSQL tại " in line and "PIPELINE_POSTGRES_URL" in line and "bi-mat" not in line
    line = one_clear_line(command(["serve"], {**env, "DAGSTER_HOME": env["DAGSTER_HOME"]}))
    assert "không kết nối được PostgreSQL tại " in line


def test_a_missing_province_profile_is_one_line(second_province):
    line = one_clear_line(command(["run", "2020-Q2", "--province", "quang-nam"], second_province["env"]))
    assert "không có hồ sơ cho tỉnh “quang-nam”" in line and "quang-nam.toml" in line
    for args in (["explain", "2020-Q2", "ca.active"], ["history", "2020-Q2"], ["sql", "SELECT 1"],
                 ["sign", "2020-Q2", "--by", "A"], ["check"], ["backfill", "2020-Q1", "2020-Q2"]):
        assert "quang-nam" in one_clear_line(command([*args, "--province", "quang-nam"], second_province["env"]))


def test_a_province_folder_that_is_not_in_the_partitions_is_one_line(second_province, tmp_path):
    raw = tmp_path / "raw"
    (raw / "quang-nam" / "2020-Q2").mkdir(parents=True)
    (raw / "2020-Q2").symlink_to(second_province["raw"] / "2020-Q2", target_is_directory=True)
    line = one_clear_line(command(["run"], {**second_province["env"], "RAW_DIR": str(raw)}))
    assert str(raw / "quang-nam") in line and "không phải một tỉnh" in line and "quang-nam.toml" in line


def test_serve_without_the_production_setting_is_one_line(second_province):
    env = {k: v for k, v in second_province["env"].items() if k != "PIPELINE_POSTGRES_URL"}
    assert "chưa đặt PIPELINE_POSTGRES_URL" in one_clear_line(command(["serve"], env))


def test_a_user_without_a_usable_password_is_refused_in_one_line(second_province, tmp_path):
    env = {**second_province["env"], "PIPELINE_PROXY_DIR": str(tmp_path / "proxy")}
    assert "ít nhất 8 ký tự" in one_clear_line(subprocess.run(
        [sys.executable, "-m", "pipeline", "users", "add", "a"], cwd=ROOT, env=env, input="short\n", capture_output=True,
        text=True))
    assert "tên người dùng “a:b”" in one_clear_line(subprocess.run(
        [sys.executable, "-m", "pipeline", "users", "add", "a:b"], cwd=ROOT, env=env, input="long enough\n",
        capture_output=True, text=True))
    assert not (tmp_path / "proxy" / "users.htpasswd").exists()
