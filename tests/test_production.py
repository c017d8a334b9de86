"""The production profile, for real: a throwaway PostgreSQL cluster holds Dagster's storage and both provinces'
lake catalogs; `python -m pipeline serve` runs dagster-daemon, dagster-webserver (127.0.0.1) and the nginx login
under supervisord; a backfill of two provinces × two quarters is launched through the login and the webserver,
and every figure of both provinces is checked against its own ground truth."""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services import free_port, non_loopback_address, postgres_bin, throwaway_postgres

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "thanh.tra", "kiem-tra-2020"
QUARTERS = ("2020-Q1", "2020-Q2")
PROVINCES = ("tra-vinh", "ben-tre")

pytestmark = pytest.mark.skipif(
    (postgres_bin() is None or shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"))
    and not os.environ.get("REQUIRE_SERVICES"),
    reason="Debian's postgresql and nginx-light are not installed (.ci/run installs them and sets REQUIRE_SERVICES=1)")


def second_profile(profiles: Path) -> None:
    """Both provinces' profiles: the packaged one, and Bến Tre's made from it."""
    profiles.mkdir()
    text = (ROOT / "pipeline" / "profile" / "tra-vinh.toml").read_text(encoding="utf-8")
    (profiles / "tra-vinh.toml").write_text(text, encoding="utf-8")
    (profiles / "ben-tre.toml").write_text(text.replace("TRÀ VINH", "BẾN TRE").replace("Trà Vinh", "Bến Tre"), encoding="utf-8")


def two_provinces(folder: Path) -> dict:
    """The settings of two provinces, Trà Vinh's exports to go in raw/<quarter>/ and Bến Tre's in raw/ben-tre/."""
    (folder / "raw").mkdir()
    second_profile(folder / "profiles")
    return {"RAW_DIR": str(folder / "raw"), "ORGANIZATION_PROFILE": str(folder / "profiles"),
            "WAREHOUSE_PATH": str(folder / "shared" / "warehouse.duckdb")}


def land_exports(raw: Path, sample_raw: Path, second_sample_raw: Path) -> None:
    """Both provinces' exports into the landing zone (links to the session's samples: raw/ is read-only)."""
    for entry in sample_raw.iterdir():
        (raw / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (raw / "ben-tre").symlink_to(second_sample_raw, target_is_directory=True)


def pipeline_command(args: list[str], env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


class Login:
    """HTTPS requests to the proxy, its generated certificate verified."""

    def __init__(self, url: str, cafile: Path):
        self.url, self.cafile, self._tls = url, cafile, None

    @property
    def tls(self) -> ssl.SSLContext:
        """Made once `serve` has generated the certificate."""
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=str(self.cafile))
        return self._tls

    def request(self, path: str, body: dict | None = None, credentials: tuple[str, str] | None = (USER, PASSWORD),
                origin: str | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if credentials:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
        if origin:
            headers["Origin"] = origin
        data = json.dumps(body).encode() if body is not None else None
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data, headers=headers),
                                        timeout=60, context=self.tls) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        status, body = self.request("/graphql", {"query": query, "variables": variables or {}})
        assert status == 200, body[:4000]
        return json.loads(body)["data"]


@pytest.fixture(scope="module")
def production(sample_raw, second_sample_raw, tmp_path_factory):
    folder = tmp_path_factory.mktemp("production")
    settings = two_provinces(folder)
    with throwaway_postgres(folder / "postgres") as url:
        env = {**os.environ, **settings, "DAGSTER_HOME": str(folder / "dagster_home"), "PIPELINE_POSTGRES_URL": url,
               "PIPELINE_PROXY_DIR": str(folder / "proxy")}
        added = pipeline_command(["users", "add", USER], env, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        port, webserver_port = free_port(), free_port()
        log = open(folder / "serve.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", str(port), "--webserver-port",
                                   str(webserver_port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        login = Login(f"https://127.0.0.1:{port}", folder / "proxy" / "tls.crt")
        try:
            for _ in range(180):
                try:
                    if login.request("/server_info")[0] == 200:
                        break
                except OSError:  # not listening yet, or no certificate yet
                    login._tls = None
                if server.poll() is not None:
                    pytest.fail(f"serve exited: {(folder / 'serve.log').read_text()[-3000:]}")
                time.sleep(1)
            else:
                pytest.fail(f"the services did not come up: {(folder / 'serve.log').read_text()[-3000:]}")
            stop_the_sensor(login)  # the backfill below, not the sensor, is what runs the exports landed next
            land_exports(Path(settings["RAW_DIR"]), sample_raw, second_sample_raw)
            yield {"env": env, "url": url, "login": login, "port": port, "webserver_port": webserver_port,
                   "folder": folder, "raw": Path(settings["RAW_DIR"])}
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            log.close()


SENSORS = """{ sensorsOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "pipeline.definitions"})
    { ... on Sensors { results { id name } } } }"""


def stop_the_sensor(login: Login) -> None:
    sensor = next(s for s in login.graphql(SENSORS)["sensorsOrError"]["results"] if s["name"] == "raw_exports_sensor")
    stopped = login.graphql('mutation($id: String) { stopSensor(id: $id) { __typename } }', {"id": sensor["id"]})
    assert stopped["stopSensor"]["__typename"] == "StopSensorMutationResult", stopped


IN_FLIGHT = """{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) { ... on Runs { results { runId } } } }"""


def in_flight(login: Login) -> list:
    """Runs queued or going (a sensor tick's, say): the commands below read the warehouses once they are done."""
    return login.graphql(IN_FLIGHT)["runsOrError"]["results"]


BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } ... on InvalidSubsetError { message } } }"""
BACKFILL_STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill {
    status runs { runId status startTime endTime tags { key value } } } } }"""


@pytest.fixture(scope="module")
def backfill(production):
    """Two provinces × two quarters, launched through the login as the launchpad does; waited for."""
    login = production["login"]
    keys = [n["assetKey"]["path"] for n in login.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]]
    partitions = [f"{p}|{q}" for p in PROVINCES for q in QUARTERS]
    launched = login.graphql(BACKFILL, {"params": {"partitionNames": partitions,
                                                   "assetSelection": [{"path": k} for k in keys]}})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    deadline = time.monotonic() + 1200
    while time.monotonic() < deadline:
        state = login.graphql(BACKFILL_STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]
        done = state["runs"] and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in state["runs"])
        if state["status"] not in ("REQUESTED",) and done and not in_flight(login):
            return state
        time.sleep(5)
    pytest.fail(f"the backfill did not finish in 20 minutes: {state}")


@contextmanager
def catalog_on(url: str):
    """This process reads the lakes where the services wrote them (PIPELINE_POSTGRES_URL)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_POSTGRES_URL", url)
        yield


def province_warehouse(production, province: str) -> Path:
    shared = Path(production["env"]["WAREHOUSE_PATH"])
    return shared if province == "tra-vinh" else shared.parent / "provinces" / province / shared.name


def truth_of(production, province: str, quarter: str) -> dict:
    raw = production["raw"] if province == "tra-vinh" else production["raw"] / province
    return json.loads((raw / "sample-truth" / f"{quarter}.json").read_text(encoding="utf-8"))["indicators"]


def test_a_backfill_of_two_provinces_and_two_quarters_through_the_webserver_succeeds(backfill):
    runs = backfill["runs"]
    partitions = sorted(next(t["value"] for t in r["tags"] if t["key"] == "dagster/partition") for r in runs)
    assert partitions == sorted(f"{p}|{q}" for p in PROVINCES for q in QUARTERS)
    assert {r["status"] for r in runs} == {"SUCCESS"}


def test_each_province_s_figures_equal_its_own_ground_truth_read_from_the_postgres_catalog(production, backfill):
    from assets.indicators.definitions import INDICATORS
    from pipeline.lib import lake

    with catalog_on(production["url"]):
        for province in PROVINCES:
            with lake.reading(province_warehouse(production, province)) as conn:
                for quarter in QUARTERS:
                    got = dict(conn.execute("SELECT indicator_id, value FROM indicators WHERE quarter = ?", [quarter]).fetchall())
                    assert set(got) == {i.id for i in INDICATORS}
                    for indicator_id, expected in truth_of(production, province, quarter).items():
                        assert got[indicator_id] is not None and math.isclose(got[indicator_id], expected, rel_tol=1e-12), \
                            (province, quarter, indicator_id)
    # the sample is calibrated to the published figures, so both seeds give the same figures from different rows
    # (other agencies, people and dossiers): a province counting the other's files would count them twice


def test_neither_province_s_files_count_in_the_other_s_figures(production, backfill):
    from pipeline.lib import lake
    from pipeline.lib.reader import sha256_of

    with catalog_on(production["url"]):
        for province, other in (PROVINCES, PROVINCES[::-1]):
            raw = production["raw"] if province == "tra-vinh" else production["raw"] / province
            for quarter in QUARTERS:
                own = {sha256_of(p) for p in (raw / quarter).rglob("*") if p.is_file()}
                with lake.reading(province_warehouse(production, province)) as conn:
                    counted = {s for (s,) in conn.execute("SELECT sha256 FROM raw_files WHERE quarter = ? AND outcome = 'loaded'",
                                                          [quarter]).fetchall()}
                assert counted and counted <= own, (province, quarter)
                other_raw = production["raw"] if other == "tra-vinh" else production["raw"] / other
                assert not counted & {sha256_of(p) for p in (other_raw / quarter).rglob("*") if p.is_file()}


def test_dagster_s_storage_and_both_lake_catalogs_live_on_the_postgres_server(production, backfill):
    import psycopg2

    with psycopg2.connect(production["url"]) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        assert cursor.fetchone()[0] >= 4
        cursor.execute("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'lake_%' ORDER BY 1")
        assert [s for (s,) in cursor.fetchall()] == ["lake_ben_tre", "lake_tra_vinh"]
    assert not (production["folder"] / "dagster_home" / "history").exists()  # no SQLite run storage


def test_runs_of_different_provinces_ran_at_once_and_one_province_one_at_a_time(backfill):
    spans = [(next(t["value"] for t in r["tags"] if t["key"] == "dagster/partition/province"), r["startTime"], r["endTime"])
             for r in backfill["runs"]]
    overlap = [(a, b) for a in spans for b in spans if a is not b and a[1] < b[2] and b[1] < a[2]]
    assert any(a[0] != b[0] for a, b in overlap), spans  # the queue let two provinces write together
    assert all(a[0] != b[0] for a, b in overlap), spans  # never two runs of one province's warehouse


def test_each_province_s_outputs_carry_its_own_header(production, backfill):
    from openpyxl import load_workbook

    outputs = Path(production["env"]["WAREHOUSE_PATH"]).parent / "outputs"
    for province, governing_body in (("tra-vinh", "UBND TỈNH TRÀ VINH"), ("ben-tre", "UBND TỈNH BẾN TRE")):
        folder = outputs if province == "tra-vinh" else outputs / province
        book = load_workbook(folder / "2020-Q2" / "phu-luc-2020-Q2.xlsx", read_only=True)
        header = [c for row in book.worksheets[0].iter_rows(max_row=4, values_only=True) for c in row if c]
        assert governing_body in header, (province, header)


def test_the_commands_take_the_province(production, backfill):
    env = production["env"]
    shown = pipeline_command(["sql", "--province", "ben-tre", "SELECT value FROM indicators WHERE quarter = '2020-Q2' "
                              "AND indicator_id = 'mail.mailboxes'"], env)
    assert shown.returncode == 0, shown.stderr
    assert float(shown.stdout.splitlines()[1]) == truth_of(production, "ben-tre", "2020-Q2")["mail.mailboxes"]
    explained = pipeline_command(["explain", "2020-Q2", "mail.mailboxes", "--province", "ben-tre", "--version", "1"], env)
    assert explained.returncode == 0, explained.stderr
    assert "số dòng đóng góp theo tệp:" in explained.stdout  # its files are found, unchanged, in Bến Tre's own landing zone:
    assert "không còn trong RAW_DIR" not in explained.stdout and "ĐÃ THAY ĐỔI" not in explained.stdout
    history = pipeline_command(["history", "2020-Q2", "--province", "ben-tre"], env)
    assert history.returncode == 0 and "không có trong kho dữ liệu có phiên bản" not in history.stdout, history.stdout + history.stderr
    assert "outputs/ben-tre/2020-Q2/phu-luc-2020-Q2.xlsx" in history.stdout
    signed = pipeline_command(["sign", "2020-Q2", "--province", "ben-tre", "--by", "Nguyễn Văn A", "--accept-errors"], env)
    assert signed.returncode == 0, signed.stderr
    refused = pipeline_command(["run", "2020-Q2", "--province", "ben-tre"], env)
    assert refused.returncode == 2 and "đã được ký" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    unsigned = pipeline_command(["history", "2020-Q2"], env)  # Trà Vinh's 2020-Q2 is not signed
    assert unsigned.returncode == 0 and "ĐÃ KÝ" not in unsigned.stdout and "được ký" not in unsigned.stdout, unsigned.stdout


# --- the login -----------------------------------------------------------------------------------------------

LAUNCH = {"query": "mutation { launchPipelineExecution(executionParams: {selector: {jobName: \"quarterly_report\", "
                   "repositoryName: \"__repository__\", repositoryLocationName: \"pipeline.definitions\"}}) { __typename } }"}


@pytest.mark.parametrize("credentials", [None, (USER, "not-the-password"), ("nobody", PASSWORD)],
                         ids=["no credentials", "wrong password", "unknown user"])
def test_without_the_right_credentials_every_path_answers_401(production, credentials):
    login = production["login"]
    assert login.request("/", credentials=credentials)[0] == 401
    assert login.request("/assets/indicators", credentials=credentials)[0] == 401
    assert login.request("/graphql", {"query": "{ version }"}, credentials=credentials)[0] == 401
    assert login.request("/graphql", LAUNCH, credentials=credentials)[0] == 401


def test_a_post_from_another_site_is_refused_even_with_the_right_credentials(production):
    login = production["login"]
    same_site = f"https://127.0.0.1:{production['port']}"
    assert login.request("/graphql", {"query": "{ version }"}, origin="https://attacker.example")[0] == 403
    assert login.request("/graphql", LAUNCH, origin="https://attacker.example")[0] == 403
    assert login.request("/graphql", {"query": "{ version }"}, origin=same_site)[0] == 200
    assert login.request("/graphql", {"query": "{ version }"})[0] == 200


def test_the_webserver_s_own_port_is_not_reachable_from_another_address(production):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but the loopback")
    with socket.socket() as probe:
        probe.settimeout(5)
        assert probe.connect_ex((address, production["webserver_port"])) != 0
    with socket.socket() as probe:  # the loopback reaches it: the webserver is up, only not exposed
        assert probe.connect_ex(("127.0.0.1", production["webserver_port"])) == 0


@pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("REQUIRE_BROWSER"), reason="no chromium")
def test_the_right_credentials_reach_the_asset_page_in_a_browser(production):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    from tests.test_ui import CHROMIUM_ARGS

    url = production["login"].url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            refused = browser.new_context(ignore_https_errors=True).new_page()
            with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):  # 401, and nothing to answer it
                refused.goto(f"{url}/assets/indicators")
            page = browser.new_context(ignore_https_errors=True, http_credentials={"username": USER, "password": PASSWORD},
                                       viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(90_000)
            assert page.goto(f"{url}/assets/indicators", wait_until="networkidle").status == 200
            expect(page.get_by_text("Materialize", exact=False).first).to_be_visible(timeout=60_000)
            expect(page.get_by_text("indicators").first).to_be_visible()
        finally:
            browser.close()


def test_a_wrong_postgresql_password_is_one_line_naming_the_setting(production):
    wrong = production["url"].replace("mat-khau-thu", "sai-mat-khau")
    for args in (["run", "2020-Q1", "--province", "ben-tre"], ["serve", "--port", str(free_port())]):
        done = pipeline_command(args, {**production["env"], "PIPELINE_POSTGRES_URL": wrong})
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "PostgreSQL từ chối người dùng hoặc mật khẩu trong PIPELINE_POSTGRES_URL" in done.stderr
        assert "sai-mat-khau" not in done.stderr  # the password is never printed
