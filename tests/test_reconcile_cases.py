"""Each finding kind from a small constructed case: two tiny quarters, every defect once, at a known place."""

import datetime as dt

import duckdb
import pytest

from pipeline.sample.writers import Sheet, write_html_xls, write_xls, write_xlsx
from tests.conftest import materialize_quarter

D = dt.date
REGISTRY = [
    ["P1", "Sở Y tế", "Tỉnh", "", ""],
    ["D1", "Ủy ban nhân dân huyện Càng Long", "Huyện", "", ""],
    ["D2", "Phòng Y tế huyện Càng Long", "Huyện", "D1", "Phòng Y tế"],
    ["D3", "Phòng Y tế huyện Cầu Kè", "Huyện", "", "Phòng Y tế"],
    ["C1", "Ủy ban nhân dân xã An Trường", "Xã", "D1", ""],
]
CERT_HEADERS = ["Số serial", "Tên thuê bao", "Loại thuê bao", "Thiết bị", "Ngày cấp", "Ngày hết hạn", "Ngày thu hồi"]
MAIL_HEADERS = ["Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo"]


def _quarter(root, quarter, certs, mails, extra):
    q = root / quarter
    write_xlsx(q / "agencies" / "dm.xlsx", [Sheet("DM", ["Mã đơn vị", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên", "Tên khác"], REGISTRY)])
    write_xls(q / "certificates" / "cts.xls", Sheet("CTS", CERT_HEADERS, certs))
    write_xlsx(q / "mail" / "mail.xlsx", [Sheet("HT", MAIL_HEADERS, mails)])
    extra(q)


def _q1(q):
    pass


def _q2(q):
    write_xlsx(q / "mail" / "thieu cot.xlsx", [Sheet("HT", ["Địa chỉ thư điện tử", "Đơn vị"], [["z@x.vn", "Sở Y tế"]])])
    write_xlsx(q / "ioffice" / "vb.xlsx", [
        Sheet("Hướng dẫn", [], [], free_text=["Hướng dẫn nhập liệu"]),
        Sheet("VB", ["Số ký hiệu", "Ngày văn bản", "Đơn vị ban hành", "Hình thức", "Ký số"], [
            ["1/SYT", D(2020, 4, 2), "Sở Y tế", "Điện tử", "Có"],
            ["2/SYT", D(2020, 3, 30), "Sở Y tế", "Điện tử", "Có"],      # row 3: outside the quarter
            ["3/PYT", D(2020, 4, 3), "Phòng Y tế", "Giấy", "Không"],     # row 4: ambiguous agency
        ])])
    write_xlsx(q / "dvc" / "dm.xlsx", [Sheet("DM", ["Mã thủ tục", "Tên thủ tục", "Cơ quan thực hiện", "Mức độ"], [
        ["1.000010", "Cấp phép", "Sở Y tế", "Mức độ 3"],
        ["1.000020", "Đăng ký", "UBND H. Càng Long", "DVC mức độ 4"],
        ["1.000030", "Xác nhận", "Sở Y tế", "Mức 5"],                  # row 4: invalid level
    ])])
    headers = ["Mã hồ sơ", "Mã thủ tục", "Ngày tiếp nhận", "Kênh nộp", "Ngày có kết quả"]
    write_html_xls(q / "dvc" / "t4.xls", Sheet("t", headers, [
        ["H1", "1.000010", "02/04/2020 08:00", "Trực tuyến", "05/04/2020"],
        ["H2", "1.000020", "03/04/2020 09:00", "Trực tiếp", ""],
        ["H3", "1.999999", "04/04/2020", "Trực tiếp", ""],            # row 4: unknown procedure
    ]))
    write_html_xls(q / "dvc" / "t5.xls", Sheet("t", headers, [
        ["H1", "1.000010", "02/04/2020 08:00", "Trực tiếp", "05/04/2020"],  # row 2: copy differing in channel
    ]))
    write_xlsx(q / "dvc" / "th.xlsx", [Sheet("TH", [], [
        [1, "Sở Y tế", 2, 1, 1, 0, 0, 1], [2, "UBND huyện Càng Long", 1, 0, 0, 1, 0, 0],
    ], two_row_header=[("STT", []), ("Đơn vị", []), ("Tổng số hồ sơ tiếp nhận", []), ("Mức độ 3", ["Tổng số", "Trực tuyến"]),
                       ("Mức độ 4", ["Tổng số", "Trực tuyến"]), ("Đã giải quyết", [])],
        total_row=["", "Tổng cộng", 4, 1, 1, 1, 0, 1])])               # C5 reads 4: column sums to 3, dossiers give 3
    write_xlsx(q / "iso" / "iso.xlsx", [Sheet("ISO", ["Tên cơ quan", "Cấp", "Ngày triển khai"], [
        ["Sở Y tế", "Cấp huyện", D(2019, 5, 1)],                       # row 2: level disagrees with the registry
    ])])


@pytest.fixture(scope="module")
def constructed(tmp_path_factory):
    root = tmp_path_factory.mktemp("constructed_raw")
    active = [["A1", "Sở Y tế", "Tổ chức", "Token", D(2019, 1, 1), D(2022, 1, 1), None],
              ["A2", "Nguyễn Văn A", "Cá nhân", "SIM", D(2019, 2, 1), D(2022, 2, 1), None],
              ["A3", "Trần Thị B", "Cá nhân", "USB Token", D(2019, 3, 1), D(2022, 3, 1), None]]
    _quarter(root, "2020-Q1", active, [[f"m{i}@x.vn", "Sở Y tế", "01/01/2019"] for i in range(5)], _q1)
    # Q2: A3 vanished from the register, one certificate issued; one mailbox created, two vanished
    _quarter(root, "2020-Q2", active[:2] + [["A4", "Lê C", "Cá nhân", "Token", D(2020, 5, 1), D(2023, 5, 1), None]],
             [[f"m{i}@x.vn", "Sở Y tế", "01/01/2019"] for i in range(3)] + [["n1@x.vn", "Sở Y tế", "02/05/2020"]], _q2)
    warehouse = tmp_path_factory.mktemp("constructed_wh") / "w.duckdb"
    for quarter in ("2020-Q1", "2020-Q2"):
        assert materialize_quarter(root, warehouse, quarter).success
    conn = duckdb.connect(str(warehouse), read_only=True)
    yield conn
    conn.close()


def _found(conn, check_id):
    return conn.execute("SELECT severity, file, sheet, row, cell, message FROM findings "
                        "WHERE quarter = '2020-Q2' AND check_id = ? ORDER BY row", [check_id]).fetchall()


def test_each_finding_kind_at_its_place(constructed):
    found = {(c, f, r) for c, f, r in constructed.execute(
        "SELECT check_id, file, row FROM findings WHERE quarter = '2020-Q2' AND severity <> 'info'").fetchall()}
    assert found == {
        ("missing_labels", "mail/thieu cot.xlsx", 1),
        ("outside_quarter", "ioffice/vb.xlsx", 3),
        ("unmatched_agency", "ioffice/vb.xlsx", 4),
        ("invalid_service_level", "dvc/dm.xlsx", 4),
        ("unknown_procedure", "dvc/t4.xls", 4),
        ("duplicates_dropped", "dvc/t5.xls", 2),
        ("duplicates_differ", "dvc/t5.xls", 2),
        ("summary_mismatch", "dvc/th.xlsx", 5),
        ("iso_level_mismatch", "iso/iso.xlsx", 2),
        ("certificate_continuity", None, None),
        ("mailbox_continuity", None, None),
        # tables this small quarter does not export: their figures are NULL and say so
        *{("indicator_unavailable", None, None)},
    }


def test_messages_say_what_was_done(constructed):
    (severity, _, _, _, cell, message), = _found(constructed, "summary_mismatch")
    assert (severity, cell) == ("warning", "C5") and "reads 4" in message and "sums to 3" in message and "give 3" in message
    assert "several registry agencies (D2, D3)" in _found(constructed, "unmatched_agency")[0][5]
    assert "'Ngày tạo'" in _found(constructed, "missing_labels")[0][5]
    assert "active 3 + issued 1 − revoked 0 − expired 0 = 4, but 2020-Q2 has 3" in _found(constructed, "certificate_continuity")[0][5]
    assert "total 5 + created 1 = 6, but 2020-Q2 lists 4" in _found(constructed, "mailbox_continuity")[0][5]
    assert "excluded" in _found(constructed, "outside_quarter")[0][5]
    assert "counts in received" in _found(constructed, "unknown_procedure")[0][5]


def test_ignored_sheets_are_info(constructed):
    assert ("sheet_ignored", "ioffice/vb.xlsx", "Hướng dẫn") in constructed.execute(
        "SELECT check_id, file, sheet FROM findings WHERE quarter = '2020-Q2' AND severity = 'info'").fetchall()


def test_figures_follow_the_rules_on_the_constructed_quarter(constructed):
    values = dict(constructed.execute("SELECT indicator_id, value FROM indicators WHERE quarter = '2020-Q2'").fetchall())
    assert values["ioffice.documents.total"] == 2 and values["ioffice.documents.electronic"] == 1
    assert values["dvc.services"] == 3 and values["dvc.services.level3"] == 1 and values["dvc.services.level4"] == 1
    assert values["dvc.dossiers.received"] == 3 and values["dvc.dossiers.level3.online"] == 1  # first copy of H1 kept
    assert values["dvc.dossiers.level34"] == 2 and values["dvc.dossiers.resolved"] == 1
    assert values["ca.issued"] == 1 and values["ca.active"] == 3 and values["mail.mailboxes"] == 4
    assert values["iso.agencies.province"] == 1 and values["iso.agencies.district"] == 0
    assert values["vcon.meetings"] is None and values["portal.main"] is None
