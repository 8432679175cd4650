"""A chart scene as SVG text: plain string building with every text and attribute escaped."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from app.regulatory.exports.chart import WIDTH, Line, Polygon, Rect, Scene, Shape, Text

# Korean-capable faces first (Linux, macOS, Windows), then the generic family.
FONT_FAMILY = (
    "'Noto Sans CJK KR', 'Noto Sans KR', 'NanumGothic', 'Nanum Gothic', "
    "'Apple SD Gothic Neo', 'Malgun Gothic', '맑은 고딕', 'Helvetica Neue', Arial, sans-serif"
)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _points(points: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _shape(shape: Shape) -> str:
    cls = f" class={quoteattr(shape.cls)}" if shape.cls else ""
    if isinstance(shape, Rect):
        tip = f"<title>{escape(shape.tooltip)}</title>" if shape.tooltip else ""
        return (
            f'<rect x="{_n(shape.x)}" y="{_n(shape.y)}" width="{_n(shape.w)}" '
            f'height="{_n(shape.h)}" rx="2" fill={quoteattr(shape.fill)}{cls}>{tip}</rect>'
        )
    if isinstance(shape, Line):
        dash = ' stroke-dasharray="4 3"' if shape.dashed else ""
        return (
            f'<polyline points="{_points(shape.points)}" fill="none" '
            f'stroke={quoteattr(shape.stroke)} stroke-width="{_n(shape.width)}"{dash}{cls}/>'
        )
    if isinstance(shape, Polygon):
        return f'<polygon points="{_points(shape.points)}" fill={quoteattr(shape.fill)}{cls}/>'
    assert isinstance(shape, Text)
    anchor = f' text-anchor="{shape.anchor}"' if shape.anchor != "start" else ""
    weight = ' font-weight="bold"' if shape.bold else ""
    return (
        f'<text x="{_n(shape.x)}" y="{_n(shape.y)}" font-size="{_n(shape.size)}" '
        f"fill={quoteattr(shape.fill)}{anchor}{weight}{cls}>{escape(shape.text)}</text>"
    )


def render_svg(scene: Scene) -> str:
    """A standalone SVG document (UTF-8, with `<title>`/`<desc>` for screen readers)."""
    height = _n(scene.height)
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" lang="{scene.lang}" '
        f'font-family="{escape(FONT_FAMILY)}" role="img">\n'
        f"<title>{escape(scene.title)}</title>\n<desc>{escape(scene.description)}</desc>\n"
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>\n'
    )
    return head + "\n".join(_shape(s) for s in scene.shapes) + "\n</svg>\n"
