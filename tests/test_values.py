import datetime as dt
import unicodedata

import pytest

from pipeline.lib.agencies import agency_key
from pipeline.lib.text import text_key
from pipeline.lib.values import parse_bool, parse_date, parse_integer, parse_number


@pytest.mark.parametrize("text, value", [("1.626", 1626), ("74.019", 74019), ("73,8", 73.8), ("73,8%", 73.8),
                                         ("1.234.567", 1234567), (12.0, 12), (" 47 ", 47)])
def test_vietnamese_numbers_are_read_explicitly(text, value):
    assert parse_number(text) == value


def test_ambiguous_number_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        parse_number("1.5")
    with pytest.raises(ValueError):
        parse_integer("73,8")


@pytest.mark.parametrize("value", [dt.date(2020, 4, 3), dt.datetime(2020, 4, 3, 9, 5), 43924, "3/4/2020", "03/04/2020 09:05",
                                   "03/04/2020 09:05:10"])
def test_dates_in_every_allowed_form_are_day_first(value):
    assert parse_date(value) == dt.date(2020, 4, 3)


@pytest.mark.parametrize("value, expected", [("Có", True), ("không", False), ("x", True), ("", False), (None, False),
                                             (1, True), ("0", False), ("TRUE", True), (False, False)])
def test_yes_no_variants(value, expected):
    assert parse_bool(value) is expected


def test_text_key_ignores_nfd_tone_placement_spaces_and_case():
    assert text_key(unicodedata.normalize("NFD", "Ủy  ban\u00a0Hòa")) == text_key("uỷ ban hoà")
    assert text_key("THỦY") == text_key("thuỷ")


@pytest.mark.parametrize("written", ["UBND TP. Trà Vinh", "Ủy ban nhân dân thành phố Trà Vinh", "TP.Trà Vinh",
                                     "uỷ ban nhân dân tp.trà vinh", "Thành phố Trà Vinh"])
def test_agency_prefix_and_abbreviations_match(written):
    assert agency_key(written) == agency_key("Ủy ban nhân dân thành phố Trà Vinh")


@pytest.mark.parametrize("written, shown", [
    ("Hòa  Thuận", "Hoà Thuận"),             # composed, old-style tone on the `o`: moved to the `a`
    ("Ủy ban\u00a0nhân dân", "Uỷ ban nhân dân"),
    ("khoẻ\tmạnh ", "khoẻ mạnh"),           # composed, new style already: spaces only
    ("thuở", "thuở"),                        # ơ carries the tone: nothing to move
    ("hoàng", "hoàng"),                      # `oa` does not end the syllable: kept
])
def test_normalize_text_gives_one_spelling_whether_written_composed_or_decomposed(written, shown):
    from pipeline.lib.text import normalize_text

    assert normalize_text(written) == shown
    assert normalize_text(unicodedata.normalize("NFD", written)) == shown


@pytest.mark.parametrize("written", ["Hòa  Thuận", "Ủy ban\u00a0nhân dân", "khoẻ\tmạnh ", "hoàng", "ÒA òa-x",
                                     " 12/STTTT-VP ", "Straße\u2003 THỦY", "\x1ca\x1fb", "a\u3000\u3000b"])
def test_normalized_text_is_its_own_normal_form_so_its_key_is_its_casefold(written):
    # staging compares parsed (already normalized) text by `casefold()` alone: this is why that holds
    from pipeline.lib.text import normalize_text

    for form in (written, unicodedata.normalize("NFD", written)):
        once = normalize_text(form)
        assert normalize_text(once) == once
        assert text_key(once) == once.casefold() == text_key(form)


def test_key_text_folded_by_arrow_is_python_casefold():
    # staging lowers ASCII text with Arrow (lower is casefold there) and casefolds the rest in Python
    import pandas as pd

    from pipeline.lib.staging import _casefolded

    values = ["12/STTTT-VP", None, "Straße", "ĐỖ Đức", "ABC", "ǅ İ ﬁ", "Sở Y tế", "x", "ABC"]
    for column in (pd.Series(values, dtype="str"), pd.Series(values, dtype=object)):
        assert _casefolded(column).tolist() == [v.casefold() if v is not None else None for v in values]
