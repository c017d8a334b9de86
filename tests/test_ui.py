"""The path a data-team member takes in the Dagster UI, in a real (headless) browser:
open the asset graph, Materialize all… → partition 2020-Q2 → Launch 1 run → View → wait for Success."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from tests.conftest import isolated_env

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (.ci/run installs it and sets REQUIRE_BROWSER=1)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def dagster_ui(tmp_path):
    from tests.constructed import build_constructed

    build_constructed(tmp_path / "raw")
    port = _free_port()
    env = isolated_env(tmp_path, tmp_path / "raw")
    log = open(tmp_path / "dagster-dev.log", "w")
    server = subprocess.Popen([str(Path(sys.executable).with_name("dagster")), "dev", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"dagster dev did not start: {(tmp_path / 'dagster-dev.log').read_text()[-2000:]}")
        yield url, env
    finally:
        os.killpg(server.pid, 9)
        server.wait()
        log.close()


def test_materialize_a_quarter_from_the_asset_graph(dagster_ui, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, env = dagster_ui
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/asset-groups", wait_until="networkidle")
        page.wait_for_timeout(1500)
        if page.get_by_role("button", name="Skip").count():  # the first-visit newsletter prompt
            page.get_by_role("button", name="Skip").click()
        expect(page.get_by_text("Global asset lineage")).to_be_visible()
        page.get_by_role("button", name="Materialize all…").click()
        page.get_by_text("Select a partition or create one").click()
        page.get_by_placeholder("Filter partitions").fill("2020-Q2")
        page.locator("span", has_text="2020-Q2").first.click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Launch 1 run").click()
        toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
        expect(toast).to_be_visible(timeout=120_000)
        short_id = re.search(r"[0-9a-f]{8}", toast.inner_text())[0]
        page.goto(f"{url}/runs", wait_until="networkidle")
        page.get_by_role("link", name=short_id).first.click()
        expect(page.get_by_text("2020-Q2").first).to_be_visible()
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=300_000)
        page.screenshot(path=str(tmp_path / "run-success.png"), full_page=True)
        shutil.copy(tmp_path / "run-success.png", ROOT / "warehouse" / "ui-run-success.png")
        browser.close()
    conn = duckdb.connect(env["WAREHOUSE_PATH"], read_only=True)
    assert conn.execute("SELECT count(*) FROM indicators WHERE quarter = '2020-Q2'").fetchone()[0] == 57
    conn.close()
