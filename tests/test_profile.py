"""The organization profile: the annex's header, place and signer come from a dated data file, not code."""

from __future__ import annotations

import datetime as dt

import duckdb
import openpyxl
import pytest

from pipeline.lib.profile import FIELDS, ProfileError, load_profile, organization_for

LATER = '''
[[period]]
valid_from = 2020-04-01
governing_body = "UBND TỈNH VĨNH LONG"
department = "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
department_name = "Sở Khoa học và Công nghệ Vĩnh Long"
place = "Vĩnh Long"
signer_title = ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
recipients = ["UBND tỉnh;", "Lưu: VT."]
'''


@pytest.fixture()
def two_periods(tmp_path, monkeypatch):
    from pipeline.lib.profile import DEFAULT_PROFILE

    path = tmp_path / "organization.toml"
    path.write_text(DEFAULT_PROFILE.read_text(encoding="utf-8") + LATER, encoding="utf-8")
    monkeypatch.setenv("ORGANIZATION_PROFILE", str(path))
    return path


def test_the_shipped_profile_gives_the_2020_header():
    org = organization_for("2020-Q2")
    assert (org.governing_body, org.department, org.place, org.signer_title) == (
        "UBND TỈNH TRÀ VINH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "Trà Vinh", ("GIÁM ĐỐC",))
    assert org.recipients[0] == "Sở Kế hoạch và Đầu tư;" and org.recipients[-1] == "Lưu: VT, VP."


def test_the_entry_in_force_on_the_quarters_last_day_is_taken(two_periods):
    assert organization_for("2020-Q1").place == "Trà Vinh"  # ends 31/03/2020, before the new names
    assert organization_for("2020-Q2").place == "Vĩnh Long"
    assert organization_for("2019-Q1").valid_from == dt.date(2019, 1, 1)


def test_a_later_entry_changes_the_annex_of_a_later_quarter_only(two_periods, constructed_warehouse, tmp_path):
    from assets.outputs.annex import build_annex

    conn = duckdb.connect(str(constructed_warehouse), read_only=True)
    try:
        for quarter in ("2020-Q1", "2020-Q2"):
            build_annex(conn, quarter, tmp_path / f"{quarter}.xlsx")
    finally:
        conn.close()
    old, new = (openpyxl.load_workbook(tmp_path / f"{q}.xlsx") for q in ("2020-Q1", "2020-Q2"))
    for sheet in old.worksheets:
        assert (sheet["A1"].value, sheet["A2"].value) == ("UBND TỈNH TRÀ VINH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG")
    for sheet in new.worksheets:
        assert (sheet["A1"].value, sheet["A2"].value) == ("UBND TỈNH VĨNH LONG", "SỞ KHOA HỌC VÀ CÔNG NGHỆ")
    texts = [c.value for row in new["Chỉ tiêu"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC" in texts and any(t.startswith("Vĩnh Long, ngày ") for t in texts)
    assert new.properties.creator == "Sở Khoa học và Công nghệ Vĩnh Long"
    old_texts = [c.value for row in old["Chỉ tiêu"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "GIÁM ĐỐC" in old_texts and any(t.startswith("Trà Vinh, ngày ") for t in old_texts)


@pytest.mark.parametrize("text, message", [
    ("[[period]]\nvalid_from = 2019-01-01\n", "giai đoạn 1: thiếu governing_body"),
    ("[[period]]\nvalid_from = \"2019\"\n" + "".join(f'{f} = "x"\n' for f in FIELDS), "giai đoạn 1: valid_from phải là một ngày"),
    ("[[period]\n", "không phải TOML hợp lệ"),
    ("", "không có [[period]] nào"),
])
def test_a_broken_profile_is_named_plainly(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=message.replace("[", r"\[")):
        load_profile(path)
