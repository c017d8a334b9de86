"""The typing rules of exports.md as staging applies them: the DuckDB macros of assets/ingest/sql/macros.sql."""

import datetime as dt
import unicodedata

import pytest

from pipeline.lib.text import normalize_text, text_key
from tests.sql_rules import agency_match, rules, typed


@pytest.fixture(scope="module")
def sql():
    return rules()


@pytest.mark.parametrize("text, value", [("1.626", 1626), ("74.019", 74019), ("73,8", 73.8), ("73,8%", 73.8),
                                         ("1.234.567", 1234567), (12.0, 12), (" 47 ", 47), ("+1.626", 1626)])
def test_vietnamese_numbers_are_read_explicitly(sql, text, value):
    assert typed(sql, "number", text) == (value, None)


def test_a_number_cell_stays_the_number_excel_holds(sql):
    assert typed(sql, "number", 74.019) == (74.019, None)
    assert typed(sql, "number", "74.019") == (74019, None)


def test_ambiguous_number_is_an_error_not_a_guess(sql):
    assert typed(sql, "number", "1.5") == (None, "“1.5” không phải là số (số viết như 1.626 hoặc 73,8)")
    assert typed(sql, "integer", "73,8") == (None, "cần một số nguyên, gặp “73,8”")
    assert typed(sql, "integer", 73.8) == (None, "cần một số nguyên, gặp “73,8”")
    assert typed(sql, "number", True) == (None, "cần một số, gặp “True”")


@pytest.mark.parametrize("value", [dt.date(2020, 4, 3), dt.datetime(2020, 4, 3, 9, 5), 43924, "3/4/2020", "03/04/2020 09:05",
                                   "03/04/2020 09:05:10", "3.4.2020", "03-04-2020", "2020-04-03", "43924"])
def test_dates_in_every_allowed_form_are_day_first(sql, value):
    assert typed(sql, "date", value) == (dt.date(2020, 4, 3), None)


@pytest.mark.parametrize("value, error", [("31/02/2020", "“31/02/2020” không phải là ngày (ngày/tháng/năm)"),
                                          (3e6, "“3.000.000” không phải là ngày (số ngày của Excel ngoài phạm vi)"),
                                          ("hôm qua", "“hôm qua” không phải là ngày (ngày/tháng/năm)")])
def test_a_date_that_is_no_date_is_an_error_quoting_the_cell(sql, value, error):
    assert typed(sql, "date", value) == (None, error)


@pytest.mark.parametrize("value, expected", [("Có", True), ("không", False), ("x", True), ("", False), (None, False),
                                             (1, True), ("0", False), ("TRUE", True), (False, False), ("Đã ký", True)])
def test_yes_no_variants(sql, value, expected):
    assert typed(sql, "bool", value) == (expected, None)


@pytest.mark.parametrize("value, shown", [(1626.0, "1626"), (74.019, "74.019"), (dt.datetime(2020, 4, 3, 9, 5), "2020-04-03 09:05:00"),
                                          (" 12/STTTT-VP ", "12/STTTT-VP")])
def test_codes_are_text_never_quantities(sql, value, shown):
    assert typed(sql, "code", value) == (shown, None)


@pytest.mark.parametrize("value, level", [(3, 3), ("Mức độ 3", 3), ("DVC mức độ 4", 4), (" 2 ", 2)])
def test_service_levels(sql, value, level):
    assert typed(sql, "level", value) == (level, None)


@pytest.mark.parametrize("written", ["Hòa  Thuận", "Ủy ban\u00a0nhân dân", "khoẻ\tmạnh ", "thuở", "hoàng", "ÒA òa-x", "hòa,hòa",
                                     " 12/STTTT-VP ", "Straße\u2003 THỦY", "\x1ca\x1fb", "a\u3000\u3000b", "hòan", "Quý hòa",
                                     "hòa\ufdd0x", "\ufdd0hòa", "\ufdd0\ufdd1hòa", "\x00hòa", "ò" * 300 + "a", "a'b; --"])
def test_sql_normalization_is_the_readers_for_composed_and_decomposed_text(sql, written):
    # the reader's Python rule (headers, total rows) and staging's SQL rule must agree
    for form in (written, unicodedata.normalize("NFD", written)):
        assert typed(sql, "text", form) == (normalize_text(form), None)


def test_text_key_ignores_nfd_tone_placement_spaces_and_case():
    assert text_key(unicodedata.normalize("NFD", "Ủy  ban\u00a0Hòa")) == text_key("uỷ ban hoà")
    assert text_key("THỦY") == text_key("thuỷ")


@pytest.mark.parametrize("written, shown", [
    ("Hòa  Thuận", "Hoà Thuận"),             # composed, old-style tone on the `o`: moved to the `a`
    ("Ủy ban\u00a0nhân dân", "Uỷ ban nhân dân"),
    ("khoẻ\tmạnh ", "khoẻ mạnh"),           # composed, new style already: spaces only
    ("thuở", "thuở"),                        # ơ carries the tone: nothing to move
    ("hoàng", "hoàng"),                      # `oa` does not end the syllable: kept
])
def test_normalize_text_gives_one_spelling_whether_written_composed_or_decomposed(sql, written, shown):
    for form in (written, unicodedata.normalize("NFD", written)):
        assert normalize_text(form) == shown
        assert typed(sql, "text", form) == (shown, None)


REGISTRY = [("TP", "Ủy ban nhân dân thành phố Trà Vinh", None), ("SYT", "Sở Y tế", "SYT;Sở Y Tế Trà Vinh"),
            ("X1", "Xã An Phú", None), ("X2", "Xã An Phú", None)]


@pytest.mark.parametrize("written", ["UBND TP. Trà Vinh", "Ủy ban nhân dân thành phố Trà Vinh", "TP.Trà Vinh",
                                     "uỷ ban nhân dân tp.trà vinh", "Thành phố Trà Vinh"])
def test_agency_prefix_and_abbreviations_match(sql, written):
    assert agency_match(sql, REGISTRY, written) == ("TP", ["TP"])


def test_an_agency_matches_its_other_names_and_two_agencies_of_one_name_match_neither(sql):
    assert agency_match(sql, REGISTRY, "sở y tế trà vinh")[0] == "SYT"
    assert agency_match(sql, REGISTRY, "Xã An Phú") == (None, ["X1", "X2"])
