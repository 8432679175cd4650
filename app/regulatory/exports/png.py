"""A chart scene as PNG, drawn with Pillow at twice the SVG's pixel size."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from app.regulatory.exports.chart import WIDTH, Line, Polygon, Rect, Scene, Text
from app.regulatory.exports.fonts import FontFile, korean_font

SCALE = 2
_ANCHOR = {"start": "ls", "middle": "ms", "end": "rs"}
MAX_HEIGHT_PX = 8000  # a chart is at most MAX_PHASES rows; this bounds memory regardless


class NoFontError(RuntimeError):
    """No Korean-capable font is installed, so a PNG would show boxes instead of text."""


@lru_cache(maxsize=64)
def _font(font: FontFile, size: float, bold: bool) -> ImageFont.FreeTypeFont:
    path = font.bold_path if bold else font.path
    return ImageFont.truetype(str(path), size=max(1, round(size * SCALE)), index=font.index)


def _xy(points: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
    return [(x * SCALE, y * SCALE) for x, y in points]


def render_png(scene: Scene) -> bytes:
    """PNG bytes of the scene; NoFontError when no Korean-capable font is installed."""
    font = korean_font()
    if font is None:
        raise NoFontError("No Korean-capable font is installed (see docs/regulatory-api.md).")
    height = min(round(scene.height * SCALE), MAX_HEIGHT_PX)
    image = Image.new("RGB", (WIDTH * SCALE, height), "#ffffff")
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        if isinstance(shape, Rect):
            box = (shape.x, shape.y, shape.x + shape.w, shape.y + shape.h)
            draw.rectangle(_xy(((box[0], box[1]), (box[2], box[3]))), fill=shape.fill)
        elif isinstance(shape, Line):
            draw.line(
                _xy(shape.points), fill=shape.stroke, width=max(1, round(shape.width * SCALE))
            )
        elif isinstance(shape, Polygon):
            draw.polygon(_xy(shape.points), fill=shape.fill)
        elif isinstance(shape, Text):
            draw.text(
                (shape.x * SCALE, shape.y * SCALE),
                shape.text,
                fill=shape.fill,
                font=_font(font, shape.size, shape.bold),
                anchor=_ANCHOR[shape.anchor],
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
