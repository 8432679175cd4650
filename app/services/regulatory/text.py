"""Language detection, normalisation and keyword matching shared by the engine."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Lang = Literal["ko", "en"]

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]+")

# Replies the frontend forwards as "concept" after a yes/no prompt: they carry no device info.
_UNINFORMATIVE = frozenset(
    {
        "네",
        "예",
        "응",
        "ㅇㅇ",
        "넵",
        "네네",
        "좋아요",
        "좋아",
        "확인",
        "그래",
        "맞아요",
        "맞습니다",
        "아니요",
        "아니오",
        "몰라요",
        "모름",
        "계속",
        "다음",
        "yes",
        "y",
        "ok",
        "okay",
        "sure",
        "yeah",
        "yep",
        "no",
        "n",
        "next",
        "continue",
        "fine",
        "correct",
        "right",
        "go",
        "proceed",
        "n/a",
        "na",
        "none",
        "-",
        "?",
    }
)


def normalise(text: str) -> str:
    """NFKC-fold, lower-case and collapse whitespace so tables match one spelling."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _SPACES.sub(" ", folded).strip()


def detect_language(text: str, default: Lang = "ko") -> Lang:
    """Return "ko" when Hangul carries the text, "en" when Latin letters do."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    if hangul == 0 and latin == 0:
        return default
    # One Hangul syllable carries roughly as much as three Latin letters, so weight it.
    return "ko" if hangul * 3 >= latin else "en"


def is_uninformative(text: str) -> bool:
    """True for acknowledgements such as "네" or "ok" that say nothing about a device."""
    norm = normalise(text).strip(" .!?~,")
    if norm in _UNINFORMATIVE:
        return True
    words = _WORD.findall(norm)
    return not words or (len(words) == 1 and len(words[0]) <= 1)


def word_count(text: str) -> int:
    """Number of word-like tokens (Hangul eojeol or Latin words)."""
    return len(_WORD.findall(text))


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A compiled set of Korean substrings and English word stems that mean one thing."""

    name: str
    pattern: re.Pattern[str]

    def find(self, norm_text: str) -> list[str]:
        """Every distinct matched term in an already-normalised text."""
        return sorted({m.group(0).strip() for m in self.pattern.finditer(norm_text)})

    def hit(self, norm_text: str) -> bool:
        """Whether any term of the lexicon occurs."""
        return self.pattern.search(norm_text) is not None


def compile_terms(name: str, terms: Iterable[str]) -> Lexicon:
    """Compile terms: Hangul terms match as substrings, Latin ones on word boundaries.

    Korean has no spaces between stem and particle ("폐결절을"), so substring matching is
    the right unit there; English needs boundaries so "ct" does not fire inside "detect".
    A trailing "*" on an English term allows any suffix ("diagnos*").
    """
    parts: list[str] = []
    for raw in terms:
        term = normalise(raw)
        if not term:
            continue
        stem = term.endswith("*")
        body = re.escape(term.rstrip("*")).replace(r"\ ", r"[\s\-]?")
        if _HANGUL.search(term):
            parts.append(body)
        else:
            tail = r"[a-z0-9\-]*" if stem else r"(?:s|es)?"
            parts.append(rf"(?<![a-z0-9]){body}{tail}(?![a-z0-9])")
    # Longest first so the reported hit is the most specific spelling.
    parts.sort(key=len, reverse=True)
    return Lexicon(name=name, pattern=re.compile("|".join(parts) if parts else r"(?!x)x"))


@dataclass(frozen=True, slots=True)
class Bi:
    """A Korean/English text pair; the engine answers in the caller's language."""

    ko: str
    en: str

    def get(self, lang: Lang) -> str:
        """The text in `lang`."""
        return self.ko if lang == "ko" else self.en
