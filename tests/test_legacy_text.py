"""Legacy Vietnamese text (issue 29): the conversion tables checked against independent forms, every syllable round
trip, and no false conversion."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest

from pipeline.lib import legacy
from pipeline.lib.legacy import TCVN3, TCVN3_CAPITALS, VNI, converted, decode, encode, encoding_of_font, guess_encoding
from pipeline.lib.legacy.syllables import every_syllable, is_syllable

LETTER_PARTS = {"BREVE": "\u0306", "CIRCUMFLEX": "\u0302", "HORN": "\u031b", "GRAVE": "\u0300", "ACUTE": "\u0301",
                "HOOK ABOVE": "\u0309", "TILDE": "\u0303", "DOT BELOW": "\u0323"}


def composed_from_name(letter: str) -> str:
    """The letter rebuilt from its Unicode name: `LATIN SMALL LETTER A WITH CIRCUMFLEX AND ACUTE` -> a + ̂ + ́ (NFC);
    `D WITH STROKE` is đ itself."""
    name = unicodedata.name(letter)
    if "STROKE" in name:
        return "đ" if "SMALL" in name else "Đ"
    base, _, marks = name.removeprefix("LATIN ").partition(" WITH ")
    char = base.split()[-1]
    char = char.lower() if "SMALL" in base else char
    combining = "".join(LETTER_PARTS[part] for part in marks.split(" AND ")) if marks else ""
    return unicodedata.normalize("NFC", char + combining)


@pytest.mark.skipif(shutil.which("iconv") is None, reason="glibc's iconv is not installed")
def test_every_tcvn3_letter_is_what_glibc_reads_in_tcvn_5712():
    table = legacy.TABLES["tcvn3"]["letters"]
    held = "".join(table)
    bytes_ = held.encode("cp1252")
    glibc = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=bytes_, capture_output=True, check=True)
    assert unicodedata.normalize("NFC", glibc.stdout.decode()) == "".join(table.values())


def test_every_tcvn3_letter_matches_its_unicode_name():
    for held, letter in legacy.TABLES["tcvn3"]["letters"].items():
        assert composed_from_name(letter) == letter, (held, letter)
        assert decode(held, TCVN3) == letter


def test_every_vni_letter_and_mark_matches_the_unicode_names_of_its_parts():
    for held, letter in legacy.TABLES["vni"]["letters"].items():
        assert composed_from_name(letter) == letter and decode(held, VNI) == letter
    for mark, names in legacy.TABLES["vni"]["marks"].items():
        for base in ("a", "e", "o", "ô", "ö") if "BREVE" not in names[0] else ("a",):
            if "CIRCUMFLEX" in names[0] and base in ("ô", "ö"):
                continue
            unicode_base = decode(base, VNI)
            expected = unicodedata.normalize("NFC", unicode_base + "".join(unicodedata.lookup(n) for n in names))
            got = decode(base + mark, VNI)
            assert got == expected and composed_from_name(got) == got, (base, mark)


def test_the_spec_examples_read_as_the_unicode_they_stand_for():
    assert converted("Së Th«ng tin") == ("Sở Thông tin", TCVN3)
    assert converted("Sôû Thoâng tin") == ("Sở Thông tin", VNI)
    assert decode("së th«ng tin", TCVN3_CAPITALS) == "SỞ THÔNG TIN"


@pytest.mark.parametrize("encoding", [TCVN3, VNI, TCVN3_CAPITALS])
def test_every_syllable_round_trips_in_each_encoding(encoding):
    syllables = every_syllable()
    assert len(syllables) > 15_000
    for syllable in syllables:
        expected = syllable.upper() if encoding == TCVN3_CAPITALS else syllable
        assert decode(encode(syllable, encoding), encoding) == expected, syllable
        assert decode(encode(syllable.capitalize(), VNI), VNI) == syllable.capitalize() if encoding == VNI else True


@pytest.mark.parametrize("encoding", [TCVN3, VNI])
def test_without_a_font_the_text_itself_names_its_encoding(encoding):
    """Every syllable that a legacy encoding spells with characters of its own is recognized in a phrase."""
    missed = []
    for syllable in every_syllable():
        held = encode(f"{syllable} thông tin", encoding)
        if guess_encoding(held) != encoding:
            missed.append(syllable)
    assert not missed, missed[:20]


@pytest.mark.parametrize("text", [
    "Sở Thông tin và Truyền thông", "Hà Nội", "Tháng 6", "Hoà", "Cà Mau", "Ủy ban nhân dân", "Müller", "café",
    "José Müller", "naïve façade", "résumé", "UBND", "QĐ-UBND", "12.345", "1.626", "abc@travinh.gov.vn",
    "2020-Q2", "Điện tử", "Có", "Không", "x", "Trực tuyến", "Giấy", "Ký số", "iOffice", "VNPT-iGate", "Ngoài giờ",
    "Tây Ninh", "Bà Rịa", "Tân Phú", "Nguyễn Thị Á", "ÁNH", "ĐÀ NẴNG", "Ông Văn Bá", "Á Châu", "Thái Bình",
])
def test_unicode_english_codes_and_latin_names_are_never_converted(text):
    assert converted(text) is None


def test_a_font_is_the_first_sign():
    assert encoding_of_font(".VnTime") == TCVN3 and encoding_of_font(".VnArial") == TCVN3
    assert encoding_of_font(".VnTimeH") == TCVN3_CAPITALS and encoding_of_font(".VnArialH") == TCVN3_CAPITALS
    assert encoding_of_font("VNI-Times") == VNI and encoding_of_font("VNI-Helve") == VNI
    assert encoding_of_font("Times New Roman") is None and encoding_of_font(None) is None
    assert converted("Hµ Néi", ".VnTime") == ("Hà Nội", TCVN3)
    assert converted("Ngoài giờ", ".VnTime") is None  # ờ is in no 8-bit font: Unicode whatever the font says


def test_is_syllable_takes_either_tone_placement_and_any_case():
    assert is_syllable("hòa") and is_syllable("hoà") and is_syllable("THUỶ") and is_syllable("thủy")
    assert not is_syllable("Müller") and not is_syllable("hoàà")


# --- read from files ------------------------------------------------------------------------------------------------
MAIL_HEADERS = ["Địa chỉ thư điện tử", "Đơn vị", "Ngày tạo"]
FORMATS = ["xlsx", "xls", "html"]


def _mail_file(folder, fmt, headers, rows, font=None):
    from pipeline.sample.writers import Sheet, write_file

    path = folder / f"hop thu {fmt}.{'xlsx' if fmt == 'xlsx' else 'xls'}"
    write_file(path, fmt, [Sheet("HT", headers, rows, font=font)])
    return path


def _read_agencies(path):
    from pipeline.lib.reader.files import read_file
    from pipeline.lib.tablespecs import SOURCES

    result = read_file(path, path.name, "mail", SOURCES["mail"])
    assert result.outcome == "loaded", [f.text for f in result.findings]
    return [cell["text"] for cell in result.tables["mailboxes"].column("agency").to_pylist()], result


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("encoding", [TCVN3, VNI])
def test_every_syllable_read_from_a_file_of_each_format_is_the_unicode_it_stands_for(fmt, encoding, tmp_path):
    """Every syllable, typed in a legacy encoding in the agency column of a mailbox list, no font recorded."""
    phrases = [f"{s} thông tin" for s in every_syllable()]
    rows = [[f"m{n}@x.vn", encode(p, encoding), "01/01/2019"] for n, p in enumerate(phrases)]
    read, result = _read_agencies(_mail_file(tmp_path, fmt, MAIL_HEADERS, rows))
    wrong = [(p, r) for p, r in zip(phrases, read) if p != r]
    assert not wrong and len(read) == len(phrases), wrong[:10]
    assert {c.encoding for c in result.legacy} == {encoding}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("font, encoding, text", [(".VnTime", TCVN3, "Có"), ("VNI-Times", VNI, "Hồ"),
                                                  (".VnTimeH", TCVN3_CAPITALS, "CÓ")])
def test_a_cell_that_only_its_font_marks_is_read_in_that_font(fmt, font, encoding, text, tmp_path):
    """`Cã` (TCVN3 for `Có`; in the capitals-only `.VnTimeH`, `CÓ`) and `Hoà` (VNI for `Hồ`) are syllables as they
    stand: alone in their row, only the font says they are legacy text."""
    held = encode(text, encoding)
    with_font, result = _read_agencies(_mail_file(tmp_path, fmt, MAIL_HEADERS, [["a@x.vn", held, "01/01/2019"]], font))
    assert with_font == [text] and [c.encoding for c in result.legacy] == [encoding]
    (tmp_path / "plain").mkdir()
    without_font, _ = _read_agencies(_mail_file(tmp_path / "plain", fmt, MAIL_HEADERS, [["a@x.vn", held, "01/01/2019"]]))
    assert without_font == [held]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_legacy_file_gets_an_info_finding_and_the_raw_layer_keeps_both_texts(fmt, tmp_path):
    rows = [["a@x.vn", encode("Sở Y tế", VNI), "01/01/2019"], ["b@x.vn", "Sở Y tế", "02/01/2019"]]  # VNI beside Unicode
    read, result = _read_agencies(_mail_file(tmp_path, fmt, [encode(h, VNI) for h in MAIL_HEADERS], rows))
    assert read == ["Sở Y tế", "Sở Y tế"]
    finding = next(f for f in result.findings if f.check_id == "legacy_encoding")
    sheet = "table 1" if fmt == "html" else "HT"
    assert finding.severity == "info" and "VNI-Windows" in finding.message and f"“{sheet}”" in finding.message
    assert finding.message.startswith("4 ô chữ")  # three header cells and one agency
    assert {(c.row, c.column, c.held, c.text) for c in result.legacy} >= {(1, 1, encode("Sở Y tế", VNI), "Sở Y tế")}


def test_the_sample_generator_writes_one_agencys_files_in_a_legacy_encoding(tmp_path, capsys):
    """`python -m pipeline sample --variant legacy-vni-xls --only mail`: the mailbox lists typed in VNI, the rest
    as always; a bad --only is one line and exit 2."""
    import python_calamine

    from pipeline.__main__ import main

    assert main(["sample", "--out", str(tmp_path), "--variant", "legacy-vni-xls", "--only", "mail"]) == 0
    mail = [p for p in (tmp_path / "2020-Q2" / "mail").iterdir() if not p.name.startswith("~$")]
    assert mail and all(p.suffix == ".xls" for p in mail)
    cells = python_calamine.CalamineWorkbook.from_path(str(mail[0])).get_sheet_by_index(0).to_python()
    assert any(encode("Địa chỉ thư điện tử", VNI) in row for row in cells)
    certificates = next((tmp_path / "2020-Q2" / "certificates").iterdir())
    text = " ".join(str(v) for row in python_calamine.CalamineWorkbook.from_path(str(certificates))
                    .get_sheet_by_index(0).to_python() for v in row)
    assert "Số serial" in text or "Ngày cấp" in text  # Unicode as before
    capsys.readouterr()
    assert main(["sample", "--out", str(tmp_path / "x"), "--variant", "legacy-vni-xls", "--only", "nowhere"]) == 2
    assert "--only" in capsys.readouterr().err


def test_the_check_command_shows_the_legacy_finding(tmp_path, capsys):
    from pipeline.__main__ import main

    path = _mail_file(tmp_path, "xlsx", [encode(h, TCVN3) for h in MAIL_HEADERS], [["a@x.vn", encode("Sở Y tế", TCVN3), "01/01/2019"]])
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "THÔNG TIN legacy_encoding: 4 ô chữ gõ bằng bảng mã cũ TCVN3 (ABC)" in out and "=> sẽ được nạp" in out


def test_a_rich_text_run_in_a_legacy_font_marks_its_xlsx_cell(tmp_path):
    """The font of a run of rich text (`rFont` in sharedStrings.xml) is a cell's font too."""
    import xlsxwriter

    path = tmp_path / "hop thu.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("HT")
    for c, label in enumerate(MAIL_HEADERS):
        sheet.write_string(0, c, label)
    sheet.write_string(1, 0, "a@x.vn")
    vn, plain = book.add_format({"font_name": ".VnTime"}), book.add_format({"font_name": "Arial"})
    sheet.write_rich_string(1, 1, vn, "C", plain, "ã")  # `Cã`, its first run in .VnTime
    sheet.write_string(1, 2, "01/01/2019")
    book.close()
    read, result = _read_agencies(path)
    assert read == ["Có"] and [c.encoding for c in result.legacy] == [TCVN3]


@pytest.mark.parametrize("markup", ['<td style="font-family: \'.VnTime\', serif">{}</td>',
                                    '<td><span style="font-family:.VnTime">{}</span></td>', '<td><font face=".VnTime">{}</font></td>',
                                    '<TD><FONT FACE=".VnTime">{}</FONT></TD>', '<td STYLE="Font-Family: .VnTime">{}</td>'])
def test_an_html_cell_in_a_legacy_font_by_style_or_face(markup, tmp_path):
    path = tmp_path / "hop thu.xls"
    header = "".join(f"<th>{h}</th>" for h in MAIL_HEADERS)
    row = "<td>a@x.vn</td>" + markup.format("Cã") + "<td>01/01/2019</td>"
    path.write_text(f'<html><meta charset="utf-8"><table><tr>{header}</tr><tr>{row}</tr></table></html>', encoding="utf-8")
    read, _ = _read_agencies(path)
    assert read == ["Có"]
