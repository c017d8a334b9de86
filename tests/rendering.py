"""Outputs as people see them: a document rendered to PDF by LibreOffice headless, its text and the boxes of its
text lines as poppler's `pdftotext -bbox-layout` reports them."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
REQUIRED = bool(os.environ.get("CI") or os.environ.get("REQUIRE_LIBREOFFICE"))


def require_renderer() -> None:
    """Skip where LibreOffice or poppler is absent, unless CI (or REQUIRE_LIBREOFFICE) says they must be there."""
    if SOFFICE and PDFTOTEXT:
        return
    missing = ", ".join(n for n, p in (("LibreOffice (soffice)", SOFFICE), ("poppler-utils (pdftotext)", PDFTOTEXT)) if not p)
    if REQUIRED:
        pytest.fail(f"{missing} not installed, and CI requires the rendering tests (.ci/run installs them)")
    pytest.skip(f"{missing} not installed (.ci/run installs them)")


def render_pdf(document: Path, out_dir: Path) -> Path:
    """`document` converted to PDF by LibreOffice headless, with a profile of its own (no clash with another
    LibreOffice running on the machine)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / "lo-profile"
    done = subprocess.run([SOFFICE, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(out_dir), str(document)],
                          capture_output=True, text=True, timeout=300)
    pdf = out_dir / f"{document.stem}.pdf"
    assert done.returncode == 0 and pdf.exists(), done.stdout + done.stderr
    return pdf


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    pages = (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    return subprocess.run([PDFTOTEXT, *pages, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@dataclass(frozen=True)
class Box:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


_PAGE = re.compile(r"<page\b.*?</page>", re.S)
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def _layout(pdf: Path) -> list[str]:
    out = subprocess.run([PDFTOTEXT, "-bbox-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return _PAGE.findall(out)


def words(pdf: Path) -> list[Box]:
    return [Box(n, float(x0), float(y0), float(x1), float(y1), html.unescape(text))
            for n, page in enumerate(_layout(pdf), start=1) for x0, y0, x1, y1, text in _WORD.findall(page)]


def overlapping(lines: list[Box]) -> list[tuple[Box, Box]]:
    """Pairs of words (or lines) of one page printed on top of each other: their boxes share a horizontal
    stretch and more than half the height of the smaller. (The lines of one paragraph are closer than their
    boxes are tall, but never by half.)"""
    found = []
    by_page: dict[int, list[Box]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    for page in by_page.values():
        page.sort(key=lambda b: b.y0)
        for i, a in enumerate(page):
            for b in page[i + 1:]:
                if b.y0 >= a.y1:
                    break
                shared_height = min(a.y1, b.y1) - max(a.y0, b.y0)
                shared_width = min(a.x1, b.x1) - max(a.x0, b.x0)
                if shared_width > 1 and shared_height > 0.5 * min(a.y1 - a.y0, b.y1 - b.y0):
                    found.append((a, b))
    return found


def collapsed(text: str) -> str:
    """Text with every run of white space as one space: a wrapped line reads as the sentence it was."""
    return " ".join(text.split())
