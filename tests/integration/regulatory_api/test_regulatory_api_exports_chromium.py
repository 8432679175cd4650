"""A Korean plan document looked at in headless Chromium: the page is drawn, and Hangul is
drawn as glyphs, not as missing-glyph boxes ("tofu").

`make export-tools` installs Debian's `chromium` and `fonts-nanum` when they are missing.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops

from app.regulatory.exports.svg import FONT_FAMILY
from tests.support.regulatory_samples import STANDARDS_BODY

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
WINDOW = (800, 1400)
CRITICAL_RED = (0xC0, 0x39, 0x2B)


def _chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail("chromium is not installed: run `make export-tools`", pytrace=False)
    return path


def screenshot(page: Path, out: Path, profile: Path) -> Image.Image:
    """Load `page` in a fresh headless Chromium profile and return its screenshot."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={out}",
        page.as_uri(),
    ]
    # The timeout only stops a wedged browser; nothing here depends on how long it takes.
    done = subprocess.run(command, capture_output=True, timeout=180, check=False)
    assert done.returncode == 0 and out.exists(), done.stderr.decode(errors="replace")[-2000:]
    return Image.open(io.BytesIO(out.read_bytes())).convert("RGB")


def ink(image: Image.Image) -> Image.Image:
    """The image cropped to what is drawn on it (non-white pixels); fails on a blank image."""
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    assert box is not None, "the screenshot is blank"
    return image.crop(box)


def text_page(tmp_path: Path, name: str, text: str) -> Image.Image:
    """`text` drawn large in the exports' font stack, cropped to its ink."""
    page = tmp_path / f"{name}.html"
    page.write_text(
        '<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><style>'
        f"body {{ margin: 20px; background: #fff; font-family: {FONT_FAMILY}; font-size: 48px; }}"
        f"</style></head><body><span>{text}</span></body></html>",
        encoding="utf-8",
    )
    return ink(screenshot(page, tmp_path / f"{name}.png", tmp_path / f"profile-{name}"))


def same(a: Image.Image, b: Image.Image) -> bool:
    """Pixel-identical images."""
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


async def test_korean_plan_page_renders_with_real_glyphs(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    r = await client.post("/api/standards", json=STANDARDS_BODY)
    assert r.status_code == 200, r.text
    plan = r.json()["plans"][1]
    r = await client.post(
        "/api/refine", json={"planId": plan["id"], "modifications": "임상시험 기간을 줄여줘"}
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/plans/{plan['id']}/export", params={"format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = tmp_path / "plan.html"
    page.write_bytes(r.content)

    shot = screenshot(page, tmp_path / "plan.png", tmp_path / "profile-plan")
    assert shot.size == WINDOW
    drawn = ink(shot)
    assert drawn.width > WINDOW[0] // 2 and drawn.height > WINDOW[1] // 2  # a page, not a dot
    # The inline timeline is drawn: its critical-path bars are solid red.
    colours = {c for _, c in shot.getcolors(maxcolors=WINDOW[0] * WINDOW[1]) or []}
    assert any(all(abs(a - b) <= 4 for a, b in zip(c, CRITICAL_RED, strict=True)) for c in colours)

    # Tofu check. Missing glyphs are all drawn as the same box, so two different Korean
    # strings of one shape (3 + space + 3) would look identical, and like a string of code
    # points no font has (unassigned U+0378). Real glyphs make all three differ.
    title = text_page(tmp_path, "title", "인허가 계획서")
    other = text_page(tmp_path, "other", "표준적 경로임")
    missing = text_page(tmp_path, "missing", "\u0378\u0378\u0378 \u0378\u0378\u0378")
    assert not same(title, other), "two Korean strings render identically: Hangul is tofu"
    assert not same(title, missing), "Korean renders like missing glyphs: Hangul is tofu"
    assert not same(other, missing)
