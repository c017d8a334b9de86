"""Row heights for wrapped text, computed when the annex is written.

Neither LibreOffice nor Excel grows a row to fit its wrapped text when the file does not say how tall the row
is: the lines are then printed on top of each other. So the annex states every row's height, from the width
the text takes in the font it is printed in and the width of its column (or of its merged range).

Widths are the advance widths of Times New Roman (and of Liberation Serif, its metric twin, which
LibreOffice prints with), in 1/2048 em; a Vietnamese letter takes the width of its base letter. Monospace
text (SQL) is 0.6 em a character. The estimate errs on the tall side: a little blank space, never overlap.
"""

from __future__ import annotations

import math
import unicodedata

# Times New Roman, printable ASCII from " " to "~", 1/2048 em
_SERIF = [512, 682, 836, 1024, 1024, 1706, 1593, 369, 682, 682, 1024, 1155, 512, 682, 512, 569, 1024, 1024, 1024, 1024,
          1024, 1024, 1024, 1024, 1024, 1024, 569, 569, 1155, 1155, 1155, 909, 1886, 1479, 1366, 1366, 1479, 1251, 1139,
          1479, 1479, 682, 797, 1479, 1251, 1821, 1479, 1479, 1139, 1479, 1366, 1139, 1251, 1479, 1479, 1933, 1479, 1479,
          1251, 682, 569, 682, 961, 1024, 682, 909, 1024, 909, 1024, 909, 682, 1024, 1024, 569, 569, 1024, 569, 1593, 1024,
          1024, 1024, 1024, 682, 797, 569, 1024, 1024, 1479, 1024, 1024, 909, 983, 410, 983, 1108]
# the other characters Vietnamese text uses (đ and Đ do not decompose into d and D)
_OTHER = {"đ": 1024, "Đ": 1479, "“": 909, "”": 909, "‘": 682, "’": 682, "–": 1024, "—": 2048, "−": 1155, "…": 2048,
          "×": 1155, "«": 1024, "»": 1024}
_WIDE = 2048  # anything else (CJK, symbols): a full em
_MONOSPACE = 1229
BOLD_MARGIN = 1.06  # bold Times is at most about 6% wider
SAFETY = 1.03
DIGIT_PX = 7  # Excel's column unit: the widest digit of the default font (Calibri 11), in pixels at 96 dpi
COLUMN_PADDING_PX = 5
CELL_MARGIN_PX = 6  # the text's distance to both borders
# Excel's columns are the narrower (7 px a unit; LibreOffice gives about 8) and its lines the taller (a 12 pt
# line of Times takes 15 pt): heights are computed for Excel, and LibreOffice prints them with room to spare
LINE_FACTOR = 1.25
ROW_PADDING_PT = 1.5
MAX_ROW_PT = 409.0  # Excel's limit


def _char_width(ch: str, monospace: bool) -> int:
    if monospace:
        return _MONOSPACE
    if ch in _OTHER:
        return _OTHER[ch]
    code = ord(unicodedata.normalize("NFD", ch)[0])
    return _SERIF[code - 32] if 32 <= code < 127 else _OTHER.get(chr(code), _WIDE)


def text_px(text: str, size_pt: float, monospace: bool = False, bold: bool = False) -> float:
    """The printed width of a single line, in pixels at 96 dpi."""
    em = sum(_char_width(ch, monospace) for ch in text) / 2048
    return em * size_pt * 96 / 72 * SAFETY * (BOLD_MARGIN if bold else 1.0)


def column_px(width_units: float) -> float:
    """The room for text in a column (or a merged range) of `width_units` Excel width units."""
    return int(width_units * DIGIT_PX + 0.5) + COLUMN_PADDING_PX - CELL_MARGIN_PX


def wrapped_lines(text: str, width_units: float, size_pt: float, monospace: bool = False, bold: bool = False) -> int:
    """How many lines `text` takes when wrapped at spaces to the column's width (a word longer than the line is
    broken where it must be, as both programs do)."""
    room = column_px(width_units)
    space = text_px(" ", size_pt, monospace, bold)
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        used = 0.0
        for word in paragraph.split(" "):
            width = text_px(word, size_pt, monospace, bold)
            if used and used + space + width <= room:
                used += space + width
                continue
            if used:
                lines += 1
            if width > room:  # the word alone does not fit: it takes as many lines as it needs
                lines += math.ceil(width / room) - 1
                width = width - (math.ceil(width / room) - 1) * room
            used = width
    return lines


def line_pt(size_pt: float) -> float:
    return size_pt * LINE_FACTOR


def height_pt(text: str, width_units: float, size_pt: float, monospace: bool = False, bold: bool = False) -> float:
    """The height, in points, a cell needs to show all of its wrapped text."""
    return wrapped_lines(text, width_units, size_pt, monospace, bold) * line_pt(size_pt) + ROW_PADDING_PT
