"""One message pinned per check kind: the findings people read are plain Vietnamese that say where (file,
sheet, row, cell), what was expected, what was found and what was done. `check_id` stays the English key."""

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from assets.ingest.manifest import build_manifest
from pipeline.sample.writers import Sheet, write_xlsx
from tests.conftest import materialize_quarter

ROOT = Path(__file__).resolve().parents[1]

# the constructed quarter (tests/constructed.py): every defect once, at a known place
CONSTRUCTED = {
    "invalid_row": "Tệp ioffice/vb.xlsx, trang tính “VB”, dòng 6: bảng “Sổ văn bản”: cột “Ngày văn bản”: “31/02/2020” "
                   "không phải là ngày (ngày/tháng/năm). Dòng bị loại, không tính vào số liệu",
    "missing_labels": "Tệp mail/thieu cot.xlsx, trang tính “HT”, dòng 1: dòng tiêu đề giống bảng “Danh sách hộp thư công vụ” "
                      "nhưng thiếu cột bắt buộc “Ngày tạo”: trang tính không được nạp",
    "unreadable_file": "Tệp mail/hong.xlsx: tệp không được nạp, mọi số liệu của tệp bị bỏ qua: tệp xlsx bị hỏng "
                       "(không phải tệp nén zip hợp lệ: File is not a zip file)",
    "unknown_location": "Tệp ghi chu.txt: tệp không nằm trong thư mục nguồn nào (agencies/, ioffice/, certificates/, mail/, "
                        "videoconf/, portal/, dvc/, iso/): không được đọc",
    "sheet_ignored": "Tệp ioffice/vb.xlsx, trang tính “Hướng dẫn”: trang tính không chứa bảng nào của các tệp thuộc thư mục "
                     "này: bỏ qua",
    "unmatched_agency": "Tệp ioffice/vb.xlsx, trang tính “VB”, dòng 4: bảng “Sổ văn bản”: cột “Đơn vị ban hành” ghi "
                        "“Phòng Y tế”, khớp với nhiều cơ quan trong danh mục (D2, D3). Dòng vẫn được giữ, chỉ tính vào các "
                        "số liệu không phân theo cơ quan",
    "outside_quarter": "Tệp ioffice/vb.xlsx, trang tính “VB”, dòng 3: bảng “Sổ văn bản”: 1 dòng có ngày ngoài quý II năm 2020 "
                       "(01/04/2020–30/06/2020), bị loại khỏi số liệu của quý; các dòng bị loại: tệp ioffice/vb.xlsx, "
                       "trang tính “VB”, dòng 3",
    "duplicates_dropped": "Tệp dvc/t5.xls, trang tính “table 1”, dòng 2: bảng “Danh sách hồ sơ”: 1 dòng trùng khóa "
                          "(“Mã hồ sơ”) bị loại, giữ bản đầu tiên theo thứ tự tệp, trang tính, dòng; các dòng bị loại: "
                          "tệp dvc/t5.xls, trang tính “table 1”, dòng 2",
    "duplicates_differ": "Tệp dvc/t5.xls, trang tính “table 1”, dòng 2: bảng “Danh sách hồ sơ”: 1 dòng trùng bị loại có nội "
                         "dung khác bản được giữ ở các cột ngoài khóa, cần kiểm tra bản nào đúng: tệp dvc/t5.xls, trang "
                         "tính “table 1”, dòng 2",
    "unknown_procedure": "Tệp dvc/t4.xls, trang tính “table 1”, dòng 4: bảng “Danh sách hồ sơ”: hồ sơ H3 ghi mã thủ tục "
                         "1.999999, không có trong danh mục TTHC của quý. Hồ sơ vẫn được tính vào tổng số hồ sơ tiếp nhận, "
                         "nhưng không tính vào mức độ dịch vụ nào",
    "invalid_service_level": "Tệp dvc/dm.xlsx, trang tính “DM”, dòng 4: bảng “Danh mục thủ tục hành chính”: thủ tục "
                             "1.000030 có mức độ dịch vụ 5 (chỉ có mức 2, 3 hoặc 4). Thủ tục vẫn được tính vào tổng số "
                             "dịch vụ công, nhưng không tính vào mức độ nào",
    "summary_mismatch": "Tệp dvc/th.xlsx, trang tính “TH”, dòng 5, ô C5: bảng “Báo cáo tổng hợp tình hình tiếp nhận”: ô tổng "
                        "C5 (hồ sơ tiếp nhận) ghi 4; cộng các dòng của cột được 3; danh sách hồ sơ cho 3. Báo cáo tổng hợp "
                        "chỉ dùng để đối chiếu: số liệu được tính từ danh sách hồ sơ",
    "iso_level_mismatch": "Tệp iso/iso.xlsx, trang tính “ISO”, dòng 2: bảng “Danh sách cơ quan áp dụng ISO điện tử”: cột "
                          "“Cấp” ghi “Huyện” nhưng danh mục cơ quan xếp Sở Y tế ở cấp “Tỉnh”. Số liệu theo cấp dùng cấp "
                          "của danh mục cơ quan",
    "certificate_continuity": "Bảng “Sổ theo dõi chứng thư số”: cuối quý I năm 2020 còn 3 chứng thư hiệu lực; cộng 1 cấp "
                              "mới, trừ 0 thu hồi và 0 hết hạn trong quý thì phải còn 4 (3 + 1 − 0 − 0), nhưng danh sách "
                              "quý II năm 2020 có 3 chứng thư còn hiệu lực. Số liệu công bố theo danh sách của quý này",
    "mailbox_continuity": "Bảng “Danh sách hộp thư công vụ”: cuối quý I năm 2020 có 5 hộp thư; cộng 1 hộp thư tạo mới trong "
                          "quý thì phải có 6 (5 + 1), nhưng danh sách quý II năm 2020 có 4 hộp thư (có hộp thư bị xóa, "
                          "hoặc ngày tạo bị ghi lùi?). Số liệu công bố theo danh sách của quý này",
    "indicator_unavailable": "Chỉ tiêu vcon.meetings (Số cuộc họp trực tuyến đã phục vụ) để trống (NULL, “Chưa có số liệu”) "
                             "vì thiếu nguồn: không nạp được trang tính nào của bảng “Cuộc họp trực tuyến” từ "
                             "raw/2020-Q2/videoconf/ (không tệp nào chứa bảng này)",
}

# a quarter without the agency registry, whose documents are all on paper
UNREGISTERED = {
    "registry_missing": "Danh mục cơ quan (agencies/) của quý không nạp được nên tên cơ quan trong các tệp của thư mục "
                        "ioffice/ không được đối chiếu: các số liệu theo cơ quan và theo cấp không tính được",
    "rate_undefined": "Chỉ tiêu ioffice.documents.signed_rate (Tỷ lệ văn bản ký số): mẫu số ioffice.documents.electronic "
                      "bằng 0, tỷ lệ để trống (NULL)",
}

MISSING_FOLDER = "Thư mục {folder} không tồn tại: không nạp được tệp xuất nào của quý III năm 2020"


@pytest.fixture(scope="module")
def unregistered(tmp_path_factory):
    raw = tmp_path_factory.mktemp("unregistered_raw")
    write_xlsx(raw / "2020-Q3" / "ioffice" / "vb.xlsx", [Sheet("VB", ["Số ký hiệu", "Ngày văn bản", "Đơn vị ban hành",
                                                                      "Hình thức", "Ký số"],
                                                                [["1/SYT", dt.date(2020, 7, 2), "Sở Y tế", "Giấy", "Không"]])])
    warehouse = tmp_path_factory.mktemp("unregistered_wh") / "w.duckdb"
    result = materialize_quarter(raw, warehouse, "2020-Q3")
    assert result.success
    conn = duckdb.connect(str(warehouse), read_only=True)
    yield conn, result
    conn.close()


def _messages(conn, quarter, check_id):
    return [m for m, in conn.execute("SELECT message FROM findings WHERE quarter = ? AND check_id = ? ORDER BY message",
                                     [quarter, check_id]).fetchall()]


@pytest.mark.parametrize("check_id", CONSTRUCTED)
def test_message_of_each_check_kind_on_the_constructed_quarter(constructed, check_id):
    assert CONSTRUCTED[check_id] in _messages(constructed, "2020-Q2", check_id)


@pytest.mark.parametrize("check_id", UNREGISTERED)
def test_message_of_each_check_kind_on_a_quarter_without_registry(unregistered, check_id):
    assert UNREGISTERED[check_id] in _messages(unregistered[0], "2020-Q3", check_id)


def test_dagster_check_metadata_quotes_the_vietnamese_messages(unregistered):
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in unregistered[1].get_asset_check_evaluations()}
    shown = [line.removeprefix("- ") for line in evaluations[("findings", "no_error_findings")].metadata["first"].value.splitlines()]
    errors = {m for m, in unregistered[0].execute("SELECT message FROM findings WHERE severity = 'error'").fetchall()}
    assert len(shown) == 10 and set(shown) <= errors and any(m.startswith("Chỉ tiêu ca.issued") for m in shown)


def test_message_of_a_missing_quarter_folder(tmp_path):
    folder = tmp_path / "2020-Q3"
    _, findings = build_manifest("2020-Q3", folder, pd.DataFrame(columns=["path"]))
    assert [(f.check_id, f.text) for f in findings] == [("quarter_folder_missing", MISSING_FOLDER.format(folder=folder))]


LEGACY = {
    "legacy_encoding": "Tệp hop thu.xls: 4 ô chữ gõ bằng bảng mã cũ TCVN3 (ABC) (trang tính “HT”) đã được đọc thành chữ "
                       "Unicode trước khi đối chiếu; nên đề nghị đơn vị gửi tệp dùng bảng mã Unicode (TCVN 6909:2001)",
}


def test_message_of_a_file_typed_in_a_legacy_encoding(tmp_path):
    from pipeline.lib.legacy import TCVN3, encode
    from pipeline.lib.reader.files import read_file
    from pipeline.lib.tablespecs import SOURCES
    from pipeline.sample.writers import Sheet, write_file

    path = tmp_path / "hop thu.xls"
    write_file(path, "xls", [Sheet("HT", [encode(h, TCVN3) for h in ("Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo")],
                                   [["a@x.vn", encode("Sở Y tế", TCVN3), "01/01/2019"]])])
    result = read_file(path, path.name, "mail", SOURCES["mail"])
    assert [f.text for f in result.findings if f.check_id == "legacy_encoding"] == [LEGACY["legacy_encoding"]]


def test_every_check_kind_the_code_can_report_has_a_pinned_message():
    sources = [p.read_text(encoding="utf-8") for p in [*ROOT.glob("pipeline/**/*.py"), *ROOT.glob("assets/**/*.py")]]
    kinds = {k for text in sources for k in re.findall(r'Finding\(\s*"(\w+)"', text)}
    kinds |= set(re.findall(r"^-- name: (\w+)", (ROOT / "assets" / "reconcile" / "checks.sql").read_text(), re.M))
    assert kinds == set(CONSTRUCTED) | set(UNREGISTERED) | set(LEGACY) | {"quarter_folder_missing"}


def test_messages_are_in_vietnamese_everywhere_people_read_them(constructed):
    english = re.compile(r"\b(row|rows|file|sheet|dropped|expected|found|not loaded|excluded|ignored)\b")
    for check_id, message in constructed.execute("SELECT check_id, message FROM findings").fetchall():
        assert not english.search(message.replace("File is not a zip file", "")), (check_id, message)
