"""Two tiny constructed quarters with every defect once, at a known place (used by the reconcile and annex tests)."""

import datetime as dt
from pathlib import Path

from pipeline.sample.variants import ExportFile, Variant
from pipeline.sample.writers import Sheet, write_file

D = dt.date
REGISTRY = [
    ["P1", "Sở Y tế", "Tỉnh", "", ""],
    ["D1", "Ủy ban nhân dân huyện Càng Long", "Huyện", "", ""],
    ["D2", "Phòng Y tế huyện Càng Long", "Huyện", "D1", "Phòng Y tế"],
    ["D3", "Phòng Y tế huyện Cầu Kè", "Huyện", "", "Phòng Y tế"],
    ["C1", "Ủy ban nhân dân xã An Trường", "Xã", "D1", ""],
    ["X1", '=HYPERLINK("http://x","y")', "Xã", "D1", ""],  # hostile text from an export: must stay text
]
CERT_HEADERS = ["Số serial", "Tên thuê bao", "Loại thuê bao", "Thiết bị", "Ngày cấp", "Ngày hết hạn", "Ngày thu hồi"]
MAIL_HEADERS = ["Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo"]


VARIANT: Variant | None = None  # set by build_constructed: every export written as that rule of the spec allows


def _write(fmt, path, sheets):
    listed = [sheets] if isinstance(sheets, Sheet) else sheets
    for export in VARIANT(ExportFile(path.name, fmt, listed)) if VARIANT else [ExportFile(path.name, fmt, listed)]:
        write_file(path.parent / export.name, export.fmt, export.sheets)


def _quarter(root, quarter, certs, mails, extra):
    q = root / quarter
    _write("xlsx", q / "agencies" / "dm.xlsx", [Sheet("DM", ["Mã đơn vị", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên", "Tên khác"],
                                                      REGISTRY)])
    _write("xls", q / "certificates" / "cts.xls", Sheet("CTS", CERT_HEADERS, certs))
    _write("xlsx", q / "mail" / "mail.xlsx", [Sheet("HT", MAIL_HEADERS, mails)])
    extra(q)


def _q1(q):
    pass


def _q2(q):
    _write("xlsx", q / "mail" / "thieu cot.xlsx", [Sheet("HT", ["Địa chỉ thư điện tử", "Đơn vị"], [["z@x.vn", "Sở Y tế"]])])
    _write("xlsx", q / "ioffice" / "vb.xlsx", [
        Sheet("Hướng dẫn", [], [], free_text=["Hướng dẫn nhập liệu"]),
        Sheet("VB", ["Số ký hiệu", "Ngày văn bản", "Đơn vị ban hành", "Hình thức", "Ký số"], [
            ["1/SYT", D(2020, 4, 2), "Sở Y tế", "Điện tử", "Có"],
            ["2/SYT", D(2020, 3, 30), "Sở Y tế", "Điện tử", "Có"],      # row 3: outside the quarter
            ["3/PYT", D(2020, 4, 3), "Phòng Y tế", "Giấy", "Không"],     # row 4: ambiguous agency
            ["4/X", D(2020, 4, 4), '=HYPERLINK("http://x","y")', "Giấy", "Không"],
            ["5/SYT", "31/02/2020", "Sở Y tế", "Điện tử", "Có"],          # row 6: no such date
        ])])
    (q / "mail" / "hong.xlsx").write_bytes(b"PK\x03\x04 download cut short")  # unreadable
    (q / "ghi chu.txt").write_text("gửi kèm báo cáo", encoding="utf-8")     # outside every source folder
    _write("xlsx", q / "dvc" / "dm.xlsx", [Sheet("DM", ["Mã thủ tục", "Tên thủ tục", "Cơ quan thực hiện", "Mức độ"], [
        ["1.000010", "Cấp phép", "Sở Y tế", "Mức độ 3"],
        ["1.000020", "Đăng ký", "UBND H. Càng Long", "DVC mức độ 4"],
        ["1.000030", "Xác nhận", "Sở Y tế", "Mức 5"],                  # row 4: invalid level
    ])])
    headers = ["Mã hồ sơ", "Mã thủ tục", "Ngày tiếp nhận", "Kênh nộp", "Ngày có kết quả"]
    _write("html", q / "dvc" / "t4.xls", Sheet("t", headers, [
        ["H1", "1.000010", "02/04/2020 08:00", "Trực tuyến", "05/04/2020"],
        ["H2", "1.000020", "03/04/2020 09:00", "Trực tiếp", ""],
        ["H3", "1.999999", "04/04/2020", "Trực tiếp", ""],            # row 4: unknown procedure
    ]))
    _write("html", q / "dvc" / "t5.xls", Sheet("t", headers, [
        ["H1", "1.000010", "02/04/2020 08:00", "Trực tiếp", "05/04/2020"],  # row 2: copy differing in channel
    ]))
    _write("xlsx", q / "dvc" / "th.xlsx", [Sheet("TH", [], [
        [1, "Sở Y tế", 2, 1, 1, 0, 0, 1], [2, "UBND huyện Càng Long", 1, 0, 0, 1, 0, 0],
    ], two_row_header=[("STT", []), ("Đơn vị", []), ("Tổng số hồ sơ tiếp nhận", []), ("Mức độ 3", ["Tổng số", "Trực tuyến"]),
                       ("Mức độ 4", ["Tổng số", "Trực tuyến"]), ("Đã giải quyết", [])],
        total_row=["", "Tổng cộng", 4, 1, 1, 1, 0, 1])])               # C5 reads 4: column sums to 3, dossiers give 3
    _write("xlsx", q / "iso" / "iso.xlsx", [Sheet("ISO", ["Tên cơ quan", "Cấp", "Ngày triển khai"], [
        ["Sở Y tế", "Cấp huyện", D(2019, 5, 1)],                       # row 2: level disagrees with the registry
    ])])


def build_constructed(root: Path, variant: Variant | None = None) -> None:
    """Write the two constructed quarters under `root`, every export in its plain form or as `variant`."""
    global VARIANT
    VARIANT = variant
    active = [["A1", "Sở Y tế", "Tổ chức", "Token", D(2019, 1, 1), D(2022, 1, 1), None],
              ["A2", "Nguyễn Văn A", "Cá nhân", "SIM", D(2019, 2, 1), D(2022, 2, 1), None],
              ["A3", "Trần Thị B", "Cá nhân", "USB Token", D(2019, 3, 1), D(2022, 3, 1), None]]
    _quarter(root, "2020-Q1", active, [[f"m{i}@x.vn", "Sở Y tế", "01/01/2019"] for i in range(5)], _q1)
    # Q2: A3 vanished from the register, one certificate issued; one mailbox created, two vanished
    _quarter(root, "2020-Q2", active[:2] + [["A4", "Lê C", "Cá nhân", "Token", D(2020, 5, 1), D(2023, 5, 1), None]],
             [[f"m{i}@x.vn", "Sở Y tế", "01/01/2019"] for i in range(3)] + [["n1@x.vn", "Sở Y tế", "02/05/2020"]], _q2)
