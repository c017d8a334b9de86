"""Legacy 8-bit Vietnamese text (TCVN3, VNI-Windows) read as the Unicode it stands for.

Before Unicode (TCVN 6909:2001) became the rule, text was typed with a font whose glyphs sat on Windows-1252 code
points: a workbook keeps those characters ("Së Th«ng tin" in .VnTime, "Sôû Thoâng tin" in VNI-Times). The tables
are data (`encodings.toml`, with their sources); this module decodes, encodes (for the sample generator and the
tests) and recognizes such text:

- by the cell's font, when the file records it (`encoding_of_font`);
- without one, by the text itself (`guess_encoding`): every character is one Windows-1252 has, the words that hold
  the encoding's characters are not Vietnamese as they stand, and read in the encoding at least half of them are
  valid Vietnamese syllables (`pipeline.lib.legacy.syllables`), more than before. Unicode Vietnamese, English,
  codes, numbers, e-mail addresses and names such as Müller or café stay as they are.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path

from pipeline.lib.legacy.syllables import is_common_syllable, is_syllable

TABLES = tomllib.loads((Path(__file__).with_name("encodings.toml")).read_text(encoding="utf-8"))
TCVN3, VNI = "TCVN3", "VNI"
TCVN3_CAPITALS = "TCVN3 capitals"  # the capitals-only fonts: the same code points, drawn as capitals

_TCVN3 = TABLES["tcvn3"]["letters"]
_VNI_LETTERS = TABLES["vni"]["letters"]
_VNI_MARKS = {mark: "".join(unicodedata.lookup(name) for name in names) for mark, names in TABLES["vni"]["marks"].items()}
_FONT_PATTERNS = [(re.compile(TABLES["tcvn3"]["capitals_fonts"], re.I), TCVN3_CAPITALS),
                  (re.compile(TABLES["tcvn3"]["fonts"], re.I), TCVN3), (re.compile(TABLES["vni"]["fonts"], re.I), VNI)]
_CHARACTERS = {TCVN3: set(_TCVN3), VNI: set(_VNI_LETTERS) | set(_VNI_MARKS)}
_MARKABLE = set("aeiouyAEIOUY")  # a VNI mark applies to a vowel (ơ, â… by their base) before it; else it is a letter


def encoding_of_font(font: str | None) -> str | None:
    """TCVN3, TCVN3 capitals or VNI for a legacy font's name (`.VnTime`, `.VnArialH`, `VNI-Times`), else None."""
    if not font:
        return None
    name = font.strip().strip("'\"")
    return next((encoding for pattern, encoding in _FONT_PATTERNS if pattern.search(name)), None)


def decode(text: str, encoding: str) -> str:
    """The Unicode (NFC) that `text`, typed in a font of `encoding`, stands for."""
    if encoding in (TCVN3, TCVN3_CAPITALS):
        decoded = "".join(_TCVN3.get(ch, ch) for ch in text)
        return unicodedata.normalize("NFC", decoded.upper() if encoding == TCVN3_CAPITALS else decoded)
    out: list[str] = []
    for ch in text:
        if ch in _VNI_MARKS and out and unicodedata.normalize("NFD", out[-1])[0] in _MARKABLE:
            out[-1] = unicodedata.normalize("NFC", out[-1] + _VNI_MARKS[ch])
        else:
            out.append(_VNI_LETTERS.get(ch, ch))
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=1)
def _encoders() -> tuple[dict[str, str], dict[str, str]]:
    """Unicode letter -> TCVN3 characters, and -> VNI characters, built from the same tables."""
    tcvn3 = {letter: held for held, letter in _TCVN3.items()}
    vni = {letter: held for held, letter in _VNI_LETTERS.items()}
    marks = {combining: held for held, combining in _VNI_MARKS.items() if held.islower()}
    for base in "aeiouyAEIOUY" + "ơưƠƯ":
        for combining, held in marks.items():
            letter = unicodedata.normalize("NFC", base + combining)
            if len(letter) == 1 and letter not in vni:
                vni[letter] = vni.get(base, base) + (held.upper() if base.isupper() else held)
    return tcvn3, vni


def encodable(letter: str, encoding: str) -> bool:
    """Whether a font of `encoding` has `letter` (TCVN3's ordinary fonts have no capital with a tone)."""
    tcvn3, vni = _encoders()
    return letter.isascii() or letter in (vni if encoding == VNI else tcvn3)


def _eight_bit(text: str) -> bool:
    """Text an 8-bit font could hold: every character one Windows-1252 has, not all of them ASCII."""
    if text.isascii():
        return False
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:  # a character no 8-bit font has: the text is Unicode
        return False
    return True


def _kept(ch: str, encoding: str) -> bool:
    """A character the font has as itself: Windows-1252's, no letter, and none of the encoding's own (NBSP, “, –)."""
    return _eight_bit(ch) and not ch.isalpha() and ch not in _CHARACTERS[VNI if encoding == VNI else TCVN3]


def encode(text: str, encoding: str) -> str:
    """`text` as a font of `encoding` stores it (what an agency's old template holds); TCVN3 capitals with a tone
    exist only in the capitals-only fonts: encode such text with TCVN3_CAPITALS (from its small letters)."""
    tcvn3, vni = _encoders()
    text = unicodedata.normalize("NFC", text)
    if encoding == TCVN3_CAPITALS:
        text = text.lower()
    table = tcvn3 if encoding in (TCVN3, TCVN3_CAPITALS) else vni
    missing = sorted({ch for ch in text if not ch.isascii() and ch not in table and not _kept(ch, encoding)})
    if missing:
        raise ValueError(f"{encoding} has no code for {''.join(missing)!r}")
    return "".join(table.get(ch, ch) for ch in text)


def _words(text: str, characters: set[str]) -> list[str]:
    """The runs of letters (and of the encoding's characters, which are punctuation in Unicode: `§` is Đ)."""
    words, current = [], []
    for ch in text:
        if ch.isalpha() or ch in characters:
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


_ABBREVIATION = re.compile(r"^[A-ZĐ]*Đ[A-ZĐ]*$")  # QĐ, ĐL, TCĐ: codes of documents and agencies


def _reads(word: str) -> bool:
    """A Vietnamese syllable, or an abbreviation with Đ (which 8-bit fonts hold as `§` in TCVN3, `Ñ` in VNI)."""
    return is_syllable(word) or (len(word) > 1 and bool(_ABBREVIATION.match(word)))


def _readings(text: str, encoding: str) -> tuple[int, int, int, list[str]]:
    """(how many words hold the encoding's characters, how many of them are Vietnamese as they stand, how many once
    decoded, the decoded words)."""
    legacy = [w for w in _words(text, _CHARACTERS[VNI if encoding == VNI else TCVN3]) if not w.isascii()]
    decoded = _words(decode(" ".join(legacy), encoding), set())
    return len(legacy), sum(_reads(w) for w in legacy), sum(_reads(w) for w in decoded), decoded


def guess_encoding(text: str) -> str | None:
    """The legacy encoding `text` is in, judged from the text alone (no font recorded), or None."""
    if not _eight_bit(text):
        return None
    best, score = None, (0, 0)
    for encoding in (TCVN3, VNI):
        count, before, after, decoded = _readings(text, encoding)
        candidate = (after - before, sum(is_common_syllable(w) for w in decoded))  # ties: the commoner reading
        if count and after > before and 2 * after >= count and candidate > score:
            best, score = encoding, candidate
    return best


def read_in(text: str, encoding: str) -> str | None:
    """`text` decoded in an encoding the rest of its row is in, when it reads at least as well so (`Ký sè` is two
    syllables either way: in a TCVN3 row it is `Ký số`); None when it is no such text."""
    if not _eight_bit(text):
        return None
    count, before, after, _ = _readings(text, encoding)
    decoded = decode(text, encoding)
    return None if decoded == text or after < before or 2 * after < count else decoded


def converted(text: str, font: str | None = None) -> tuple[str, str] | None:
    """(the Unicode text, the encoding) when `text` is legacy text, by its font or else by its characters; None
    when it is not. Text with a character no 8-bit font has is never converted, whatever its font says."""
    if not _eight_bit(text):
        return None
    encoding = encoding_of_font(font) or guess_encoding(text)
    if encoding is None:
        return None
    result = decode(text, encoding)
    return (result, encoding) if result != text else None
