"""The paths a data-team member takes in the Dagster UI, in a real (headless) browser, against one
`dagster dev` started as `make dev` starts it:
- open the asset graph, Materialize all… → partition 2020-Q2 → Launch 1 run → View → wait for Success;
- Materialize all… → partitions 2020-Q1 and 2020-Q2 → Launch backfill → the backfill page → Completed;
- exports for the quarter in progress dropped into raw/: the running sensor reloads the code location, the
  quarter becomes a partition, and a run of it is requested, without restarting anything."""

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

from pipeline.orchestration.partitions import province_today, quarter_of
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


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    from tests.constructed import build_constructed

    tmp_path = tmp_path_factory.mktemp("ui")
    build_constructed(tmp_path / "raw")
    port = _free_port()
    env = isolated_env(tmp_path, tmp_path / "raw")
    env["PIPELINE_WEBSERVER"] = f"127.0.0.1:{port}"  # as `make dev` sets it
    env["RAW_SENSOR_INTERVAL_SECONDS"] = "5"  # the sensor's code path, without waiting for minutes
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
        yield url, env, tmp_path / "raw"
    finally:
        os.killpg(server.pid, 9)
        server.wait()
        log.close()


def _page(browser):
    """A page whose every step may take a minute: the suite's other worker keeps both cores busy, and the UI
    answers slowly then (a step that never comes still fails)."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(90_000)
    expect.set_options(timeout=30_000)
    return page


def _open_materialize_all(page, url, quarters):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    page.goto(f"{url}/asset-groups", wait_until="networkidle")
    skip = page.get_by_role("button", name="Skip")  # the first-visit newsletter prompt, shown after a delay
    try:
        skip.wait_for(state="visible", timeout=8000)
        skip.click()
    except PlaywrightTimeout:  # already dismissed in this browser
        pass
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    page.get_by_role("button", name="Materialize all…").click()
    page.get_by_text("Select a partition or create one").click()
    for quarter in quarters:
        page.get_by_placeholder("Filter partitions").fill(quarter)
        page.locator("span", has_text=quarter).first.click()
    page.keyboard.press("Escape")


def _launch_one_run_and_view_it(page, url, quarter):
    """Materialize all… → the quarter → Launch 1 run, then the run's page from the toast's id."""
    from playwright.sync_api import expect

    _open_materialize_all(page, url, [quarter])
    page.get_by_role("button", name="Launch 1 run").click()
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    expect(toast).to_be_visible(timeout=120_000)
    short_id = re.search(r"[0-9a-f]{8}", toast.inner_text())[0]
    page.goto(f"{url}/runs", wait_until="networkidle")
    page.get_by_role("link", name=short_id).first.click()


def _graphql(url, query):
    import json

    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=30))["data"]


def test_materialize_a_quarter_from_the_asset_graph(dagster_ui, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, env, _ = dagster_ui
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = _page(browser)
        _launch_one_run_and_view_it(page, url, "2020-Q2")
        expect(page.get_by_text("2020-Q2").first).to_be_visible()
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=300_000)
        page.screenshot(path=str(tmp_path / "run-success.png"), full_page=True)
        shutil.copy(tmp_path / "run-success.png", ROOT / "warehouse" / "ui-run-success.png")
        browser.close()
    conn = duckdb.connect(env["WAREHOUSE_PATH"], read_only=True)
    assert conn.execute("SELECT count(*) FROM indicators WHERE quarter = '2020-Q2'").fetchone()[0] == 57
    conn.close()


def test_backfill_a_range_of_quarters_from_the_asset_graph(dagster_ui, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, env, _ = dagster_ui
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = _page(browser)
        _open_materialize_all(page, url, ["2020-Q1", "2020-Q2"])
        expect(page.get_by_text("2 partitions")).to_be_visible()
        page.get_by_role("button", name="Launch backfill").click()
        toast = page.get_by_text(re.compile(r"Created backfill [a-z]{8}"))
        expect(toast).to_be_visible(timeout=120_000)
        backfill_id = re.search(r"backfill ([a-z]{8})", toast.inner_text())[1]
        page.goto(f"{url}/runs/b/{backfill_id}", wait_until="networkidle")
        expect(page.get_by_text("Partition selection")).to_be_visible()
        status = f'{{ partitionBackfillOrError(backfillId: "{backfill_id}") {{ ... on PartitionBackfill {{ status }} }} }}'
        for _ in range(400):
            if _graphql(url, status)["partitionBackfillOrError"]["status"] != "REQUESTED":
                break
            time.sleep(1)
        page.reload(wait_until="networkidle")
        expect(page.get_by_text("100% completed").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(tmp_path / "backfill-completed.png"), full_page=True)
        shutil.copy(tmp_path / "backfill-completed.png", ROOT / "warehouse" / "ui-backfill-completed.png")
        browser.close()
    runs = _graphql(url, f"""{{ partitionBackfillOrError(backfillId: "{backfill_id}") {{
        ... on PartitionBackfill {{ status runs {{ status tags {{ key value }} }} }} }} }}""")["partitionBackfillOrError"]
    assert runs["status"] == "COMPLETED_SUCCESS"
    quarters = sorted(t["value"] for r in runs["runs"] for t in r["tags"] if t["key"] == "dagster/partition")
    assert quarters == ["2020-Q1", "2020-Q2"] and {r["status"] for r in runs["runs"]} == {"SUCCESS"}


def test_exports_for_a_new_quarter_reach_a_running_ui_without_restart(dagster_ui):
    url, _, raw = dagster_ui
    current = quarter_of(province_today())
    query = '{ assetNodes(assetKeys: [{path: ["indicators"]}]) { partitionKeys } }'
    assert current not in _graphql(url, query)["assetNodes"][0]["partitionKeys"]
    shutil.copytree(raw / "2020-Q2" / "mail", raw / current / "mail")
    for _ in range(300):  # sensor tick → reload → the daemon's next look at the location
        if current in _graphql(url, query)["assetNodes"][0]["partitionKeys"]:
            break
        time.sleep(1)
    else:
        pytest.fail(f"{current} never became a partition")
    runs = (f'{{ runsOrError(filter: {{tags: [{{key: "dagster/partition", value: "{current}"}}]}}) '
            '{ ... on Runs { results { runId } } } }')
    for _ in range(300):
        if _graphql(url, runs)["runsOrError"]["results"]:
            break
        time.sleep(1)
    else:
        pytest.fail(f"no run of {current} was requested after the reload")


LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""


def _graphql_with(url, query, variables):
    import json

    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=30))["data"]


def test_a_signed_quarter_launched_from_the_ui_fails_and_runs_with_the_amend_reason_tag(dagster_ui, tmp_path):
    """After sign-off, Materialize all → 2020-Q2 fails at its first step with who signed and how to amend; the same
    run launched with the tag amend_reason (what the launchpad's tags send) is a new version, an amendment."""
    from playwright.sync_api import expect, sync_playwright

    from pipeline.cli.sign import sign
    from pipeline.lib import lake

    url, env, _ = dagster_ui
    warehouse = env["WAREHOUSE_PATH"]
    sign(warehouse, str(Path(warehouse).parent / "outputs"), "2020-Q2", "Trần Thị Duyệt", None, accept_errors=True)
    signed = lake.signoff_of(warehouse, "2020-Q2")["version"]  # the run and the backfill above made versions
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = _page(browser)
        _launch_one_run_and_view_it(page, url, "2020-Q2")
        expect(page.get_by_text("Failure", exact=True).first).to_be_visible(timeout=300_000)
        expect(page.get_by_text(re.compile(f"2020-Q2 đã được ký: phiên bản {signed} của 2020-Q2 đã được Trần Thị Duyệt ký"))
               .first).to_be_visible()
        page.screenshot(path=str(tmp_path / "run-refused.png"), full_page=True)
        browser.close()
    location = _graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }")
    repository = location["repositoriesOrError"]["nodes"][0]
    params = {"selector": {"repositoryLocationName": repository["location"]["name"], "repositoryName": repository["name"],
                           "jobName": "quarterly_report"},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2020-Q2"},
                                             {"key": "amend_reason", "value": "bổ sung tệp gửi muộn"}]}}
    launched = _graphql_with(url, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}'
    for _ in range(600):
        if _graphql(url, status)["runOrError"]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    assert _graphql(url, status)["runOrError"]["status"] == "SUCCESS"
    with lake.reading(warehouse) as conn:
        latest = lake.published_versions(conn, "2020-Q2")[-1]
        assert (latest["run_id"], latest["amendment_of"], latest["amend_reason"]) == (run_id, signed, "bổ sung tệp gửi muộn")
        assert latest["version"] > signed and lake.current_signoff(conn, "2020-Q2")["version"] == signed
