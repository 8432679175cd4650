"""Language detection, normalisation and keyword matching shared by the engine."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
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


_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Indexed:
    """One text prepared for term lookups: its tokens and a space-joined token string."""

    tokens: frozenset[str]
    joined: str
    prefixes: dict[str, frozenset[str]]


@lru_cache(maxsize=256)
def _index(norm_text: str) -> _Indexed:
    tokens = _TOKEN.findall(norm_text)
    prefixes: dict[str, set[str]] = {}
    for tok in set(tokens):
        for n in range(2, len(tok) + 1):
            stem = tok[:n]
            if stem in _ALL_STEMS:
                prefixes.setdefault(stem, set()).add(tok)
    return _Indexed(
        tokens=frozenset(tokens),
        joined=" " + " ".join(tokens) + " ",
        prefixes={k: frozenset(v) for k, v in prefixes.items()},
    )


# Every English stem of every lexicon: lets one pass over a text's tokens serve them all.
_ALL_STEMS: set[str] = set()


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A set of Korean substrings and English words, phrases and stems that mean one thing.

    Korean has no spaces between stem and particle ("폐결절을"), so Hangul terms match as
    substrings; English terms match whole tokens so "ct" does not fire inside "detect".
    Lookups use set membership and `in` rather than one big regex: a 2000-character
    concept must still classify in a few milliseconds.
    """

    name: str
    substrings: tuple[str, ...]
    words: frozenset[str]
    stems: tuple[str, ...]
    phrases: tuple[str, ...]
    phrase_stems: tuple[str, ...]

    def find(self, norm_text: str) -> list[str]:
        """Every distinct matched term in an already-normalised text."""
        hits = {t for t in self.substrings if t in norm_text}
        if self.words or self.stems or self.phrases or self.phrase_stems:
            idx = _index(norm_text)
            hits |= self.words & idx.tokens
            for stem in self.stems:
                hits |= idx.prefixes.get(stem, frozenset())
            hits |= {p for p in self.phrases if f" {p} " in idx.joined or f" {p}s " in idx.joined}
            hits |= {p for p in self.phrase_stems if f" {p}" in idx.joined}
        return sorted(hits)

    def hit(self, norm_text: str) -> bool:
        """Whether any term of the lexicon occurs."""
        return bool(self.find(norm_text))


def compile_terms(name: str, terms: Iterable[str]) -> Lexicon:
    """Sort terms into lookup kinds. A trailing "*" on an English term allows any suffix."""
    substrings: set[str] = set()
    words: set[str] = set()
    stems: set[str] = set()
    phrases: set[str] = set()
    phrase_stems: set[str] = set()
    for raw in terms:
        term = normalise(raw)
        if not term:
            continue
        if _HANGUL.search(term):
            body = term.rstrip("*")
            substrings.add(body)
            if " " in body:  # "유방 보형물" also written "유방보형물"
                substrings.add(body.replace(" ", ""))
            continue
        is_stem = term.endswith("*")
        tokens = _TOKEN.findall(term.rstrip("*"))
        if not tokens:
            continue
        key = " ".join(tokens)
        if len(tokens) == 1 and is_stem:
            stems.add(key)
        elif len(tokens) == 1:
            words.update({key, key + "s", key + "es"})
        elif is_stem:
            phrase_stems.add(key)
        else:
            phrases.add(key)
    _ALL_STEMS.update(stems)
    _index.cache_clear()
    return Lexicon(
        name=name,
        substrings=tuple(sorted(substrings)),
        words=frozenset(words),
        stems=tuple(sorted(stems)),
        phrases=tuple(sorted(phrases)),
        phrase_stems=tuple(sorted(phrase_stems)),
    )


@dataclass(frozen=True, slots=True)
class Bi:
    """A Korean/English text pair; the engine answers in the caller's language."""

    ko: str
    en: str

    def get(self, lang: Lang) -> str:
        """The text in `lang`."""
        return self.ko if lang == "ko" else self.en
