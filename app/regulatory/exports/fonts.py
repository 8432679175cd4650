"""Korean-capable fonts on this machine, for the PNG chart and the PDF document.

The Makefile's `export-tools` target installs Debian's `fonts-nanum` (SIL Open Font Licence
1.1: embedding in documents is allowed). Noto Sans CJK (`fonts-noto-cjk`, same licence) is
used for PNG when Nanum is absent; its CFF outlines cannot be embedded by reportlab.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_NANUM = Path("/usr/share/fonts/truetype/nanum")
_NOTO = Path("/usr/share/fonts/opentype/noto")


@dataclass(frozen=True, slots=True)
class FontFile:
    """A font file (and the face index inside a collection)."""

    path: Path
    bold_path: Path
    index: int = 0
    truetype: bool = True  # TrueType outlines (embeddable by reportlab), not CFF


_CANDIDATES: tuple[FontFile, ...] = (
    FontFile(_NANUM / "NanumGothic.ttf", _NANUM / "NanumGothicBold.ttf"),
    FontFile(_NANUM / "NanumBarunGothic.ttf", _NANUM / "NanumBarunGothicBold.ttf"),
    # In the Noto CJK collections face 1 is Korean (JP, KR, SC, TC, HK order).
    FontFile(_NOTO / "NotoSansCJK-Regular.ttc", _NOTO / "NotoSansCJK-Bold.ttc", 1, truetype=False),
)


@lru_cache(maxsize=4)
def korean_font(*, truetype_only: bool = False) -> FontFile | None:
    """The first installed Korean-capable font (None when there is none)."""
    for font in _CANDIDATES:
        if truetype_only and not font.truetype:
            continue
        if font.path.is_file():
            bold = font.bold_path if font.bold_path.is_file() else font.path
            return FontFile(font.path, bold, font.index, font.truetype)
    return None
