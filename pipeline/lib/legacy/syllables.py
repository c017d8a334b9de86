"""Vietnamese syllables: every one, generated from initials, rhymes (vowels and finals) and tones, and the test
whether a word is one. Used to recognize legacy text without a font (a word reads as Vietnamese only once decoded)
and by the tests, which round-trip every syllable through both legacy encodings and all three file formats.

The inventory is the modern spelling's: 27 initials (with the `c/k/q`, `g/gh`, `ng/ngh` and `gi`, `qu` rules), the
rhymes of the national orthography, six tones, and the rule that a rhyme ending in `c`, `ch`, `p` or `t` takes only
the acute or the dot below. Both tone placements (`hòa`, `hoà`) are the same syllable.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

INITIALS = ("", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p", "ph",
            "qu", "r", "s", "t", "th", "tr", "v", "x")
RHYMES = (
    "a ac ach ai am an ang anh ao ap at au ay ăc ăm ăn ăng ăp ăt âc âm ân âng âp ât âu ây "
    "e ec em en eng eo ep et ê êch êm ên ênh êp êt êu "
    "i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu "
    "o oa oac oach oai oam oan oang oanh oao oap oat oay oăc oăm oăn oăng oăt oc oe oen oeo oet oi om on ong ooc "
    "oong op ot ô ôc ôi ôm ôn ông ôp ôt ơ ơi ơm ơn ơp ơt "
    "u ua uân uâng uât uây uc uê uêch uênh ui um un ung uôc uôi uôm uôn uông uôt up ut uy uya uych uyên uyêt uynh "
    "uyt uyu uơ ư ưa ưc ưi ưm ưn ưng ươc ươi ươm ươn ương ươp ươt ươu ưt ưu "
    "y yêm yên yêng yêt yêu").split()
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # ngang, huyền, sắc, hỏi, ngã, nặng
STOPS = ("c", "ch", "p", "t")
RARE_RHYMES = ("ooc", "oong")  # loanwords (xoong, soóc): a reading that needs them is the less likely one
_FRONT = ("e", "ê", "i", "y")
_WITH_MARK = "ăâêôơư"


def _allowed(initial: str, rhyme: str) -> bool:
    """The spelling rules between an initial and a rhyme."""
    first = rhyme[0]
    if initial == "g" and first == "i":
        return True  # gi + i is written gi: gì, gìn, giết, giêng
    if initial in ("c", "g", "ng") and first in _FRONT:
        return False  # k, gh, ngh are written before e, ê, i, y
    if initial in ("k", "gh", "ngh") and first not in _FRONT:
        return False
    if initial == "qu" and (first in "uư" or rhyme.startswith(("o", "ô"))):
        return False  # qu carries its own u
    if initial == "gi" and first in "iy":
        return False  # gi + i is written gi (gì, gìn)
    return True


def _tone_position(rhyme: str) -> int:
    """Where the tone mark goes (the old placement for oa, oe, uy: both are read as the same syllable)."""
    vowels = [i for i, ch in enumerate(rhyme) if ch in "aăâeêioôơuưy"]
    marked = [i for i in vowels if rhyme[i] in _WITH_MARK]
    if marked:
        return marked[-1]
    if len(vowels) == 1:
        return vowels[0]
    ends_in_vowel = vowels[-1] == len(rhyme) - 1
    return vowels[-2] if ends_in_vowel and len(vowels) <= 3 else vowels[-1]


def with_tone(initial: str, rhyme: str, tone: str) -> str:
    position = _tone_position(rhyme)
    return unicodedata.normalize("NFC", initial + rhyme[:position + 1] + tone + rhyme[position + 1:])


@lru_cache(maxsize=1)
def every_syllable() -> tuple[str, ...]:
    """Every syllable the inventory spells, in lower case, NFC."""
    found = []
    for initial in INITIALS:
        for rhyme in RHYMES:
            if not _allowed(initial, rhyme):
                continue
            for tone in TONES:
                if rhyme.endswith(STOPS) and tone not in ("\u0301", "\u0323"):
                    continue
                found.append(with_tone(initial, rhyme, tone))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=1)
def _spelled() -> frozenset[str]:
    """Every syllable, with the tone where either placement puts it (hòa and hoà, thủy and thuỷ)."""
    found = set(every_syllable())
    for initial in INITIALS:
        for rhyme in ("oa", "oe", "uy"):
            if _allowed(initial, rhyme):
                found.update(unicodedata.normalize("NFC", initial + rhyme + tone) for tone in TONES[1:])
    return frozenset(found)


def _strip_tone(word: str) -> str:
    return unicodedata.normalize("NFC", "".join(ch for ch in unicodedata.normalize("NFD", word) if ch not in TONES[1:]))


def is_syllable(word: str) -> bool:
    """Whether `word` (any case, either tone placement, NFC or NFD) is a Vietnamese syllable, its tone on the vowel
    that carries it (`xã`, not `xaõ`)."""
    return unicodedata.normalize("NFC", word.lower()) in _spelled()


def is_common_syllable(word: str) -> bool:
    """A syllable whose rhyme is not one of the loanwords' (`RARE_RHYMES`)."""
    return is_syllable(word) and not _strip_tone(word.lower()).endswith(RARE_RHYMES)
