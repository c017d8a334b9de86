"""Vietnamese text normalization shared by header matching, agency matching and fixed values.

Agencies' systems write the same word in NFC or NFD, with the tone mark on either vowel of
`oa`/`oe`/`uy` (`hòa`/`hoà`, `Ủy`/`Uỷ`), with non-breaking or repeated spaces. Every comparison in the
pipeline goes through `text_key`, so all of these compare equal.
"""

from __future__ import annotations

import re
import unicodedata

TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
# Old-style placement puts the tone on the first vowel of a final `oa`, `oe`, `uy`: move it to the second
# (new style), but only when the pair ends the syllable (no letter or further mark after it).
_OLD_STYLE_TONE = re.compile(
    rf"([oOuU])([{TONE_MARKS}])([aAeEyY])(?![^\W\d_]|[\u0300-\u036f])"
)
_SPACES = re.compile(r"\s+")
# the same pairs, precomposed (NFC): where none occurs, nothing is to be moved
_OLD_STYLE_CANDIDATE = re.compile("[òóõỏọùúũủụÒÓÕỎỌÙÚŨỦỤ][aAeEyY]")


def normalize_text(value: str) -> str:
    """NFC, new-style tone placement, single spaces, trimmed. Case is kept (this is for display)."""
    if value.isascii():  # codes, ids, numbers, dates as text: nothing to compose or move
        return " ".join(value.split())
    if unicodedata.is_normalized("NFC", value) and not _OLD_STYLE_CANDIDATE.search(value):
        return " ".join(value.split())  # most Vietnamese text: already composed, tones in place
    decomposed = unicodedata.normalize("NFD", value)
    moved = _OLD_STYLE_TONE.sub(r"\1\3\2", decomposed)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", moved).replace("\u00a0", " ")).strip()


def text_key(value: str) -> str:
    """The comparison key: normalized text, case folded."""
    return normalize_text(value).casefold()
