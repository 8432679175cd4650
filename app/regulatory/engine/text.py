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

# Replies the frontend forwards as "concept" to /api/purpose after "is this category right?"
# (its placeholder suggests "진행"): they confirm (or refuse) and carry no device information.
# A reply is uninformative when every word of it is one of these, in any order, with any
# punctuation, emoji or politeness around it. Collected from the replies users type.
# fmt: off
_REPLY_WORDS_KO = frozenset({
    # yes / agreement
    "네", "넵", "넹", "넴", "예", "응", "웅", "엉", "어", "ㅇㅇ", "ㅇㅋ", "ㅇㅋㅇㅋ", "ㄱㄱ", "ㄱ",
    "오케이", "오키", "오케", "콜", "굿", "좋아", "좋아요", "좋아용", "좋습니다", "좋네요", "좋다",
    "좋지", "좋죠", "괜찮아", "괜찮아요", "괜찮습니다", "맞아", "맞아요", "맞아용", "맞습니다",
    "맞네요", "맞음", "맞다", "맞죠", "그래", "그래요", "그럼", "그럼요", "당연하죠", "당연히",
    "물론", "물론이죠", "확인", "확인했어요", "확인했습니다", "알겠어", "알겠어요", "알겠습니다",
    "알았어", "알았어요", "계속", "다음", "고고", "가자", "가죠", "갑시다", "시작", "동의",
    "동의합니다", "동의해요", "정확해요", "정확합니다", "그거요", "그거", "그걸로", "이걸로",
    "그대로", "이대로", "그렇게", "그렇죠", "옳아요", "찬성", "단계", "단계로", "다음으로", "이거",
    "이거요", "이걸로요", "그걸로요", "네요",
    # requests to go on ("해 주세요" splits into these)
    "해", "해줘", "해줘요", "해주세요", "해요", "주세요", "부탁해", "부탁해요", "부탁드려요",
    "부탁드립니다", "부탁합니다", "감사", "감사합니다", "감사해요", "고마워", "고마워요", "땡큐",
    # filler
    "일단", "그냥", "바로", "좀", "빨리", "자", "음", "저", "제발", "그러면", "이제",
    "네네", "넵넵", "예예", "응응", "아",
    # no / don't know (uninformative as well)
    "아니", "아니요", "아니오", "아뇨", "몰라", "몰라요", "모름", "모르겠어요", "모르겠습니다",
})
_REPLY_WORDS_EN = frozenset({
    "yes", "yeah", "yea", "yep", "yup", "ya", "yess", "yesss", "y", "ok", "okay", "okey",
    "okie", "k", "kk", "sure", "proceed", "proceeding", "go", "ahead", "on", "continue", "next",
    "sounds", "looks", "seems", "good", "great", "fine", "perfect", "cool", "nice", "awesome",
    "excellent", "correct", "right", "exactly", "that", "thats", "that's", "it's", "its", "is",
    "it", "this", "do", "let's", "lets", "please", "pls", "plz", "thanks", "thank", "you", "thx",
    "confirm", "confirmed", "agreed", "agree", "absolutely", "of", "course", "alright", "all",
    "lgtm", "affirmative", "definitely", "indeed", "move", "forward", "i", "we", "am", "are",
    "happy", "with", "the", "a", "one", "like", "plan", "works", "for", "me", "just", "so",
    "well", "um", "uh", "hmm", "oh", "then", "now", "and", "start", "begin", "done", "to", "us",
    "can", "will", "ready", "approve", "approved", "accept", "accepted", "got",
    # no / don't know
    "no", "nope", "nah", "not", "n", "idk", "dunno", "none", "na", "n/a", "skip", "know",
    "don't", "dont",
})
# fmt: on
# "진행해줘", "계속할게요", "다음으로", "생성해 주세요": a go-on verb with any polite ending.
_REPLY_VERB_KO = re.compile(
    r"(진행|계속|시작|확인|생성|작성|다음|분석|추천|만들어)"
    r"(해|해줘|해줘요|해주세요|해주십시오|해요|할게|할게요|하겠습니다|합니다|합시다|하자|하세요|"
    r"하기|시켜|시켜줘|시켜주세요|할래|할래요|해봐|해보자|해주라|부탁해|부탁해요|부탁드려요|"
    r"부탁드립니다|부탁합니다|으로|단계로|요|ㄱㄱ|고고|하죠|해도돼|해도돼요|해도 돼요)?"
)
_REPLY_NOISE = re.compile(r"^(ㅋ+|ㅎ+|ㅠ+|ㅜ+|네+|응+|예+|넵+|ok+|yes+|ye+s+|!+)$")
_NON_WORD = re.compile(r"[^0-9a-z\uac00-\ud7a3\u3131-\u318e'/ ]+")
_CLAUSE = re.compile(r"[,.!?;~\n]+")


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


def _reply_word(token: str) -> bool:
    return (
        token in _REPLY_WORDS_KO
        or token in _REPLY_WORDS_EN
        or _REPLY_VERB_KO.fullmatch(token) is not None
        or _REPLY_NOISE.fullmatch(token) is not None
    )


def is_uninformative(text: str) -> bool:
    """True for replies such as "진행해줘", "네 진행해주세요", "Yes, proceed!" or "go ahead 👍"
    that confirm (or refuse) without saying anything about a device."""
    tokens = _NON_WORD.sub(" ", normalise(text)).split()
    words = _WORD.findall(normalise(text))
    if not words or (len(words) == 1 and len(words[0]) <= 1):
        return True
    return all(_reply_word(t.strip("'")) for t in tokens if t.strip("'"))


def description_part(text: str) -> str:
    """The text without its confirming clauses ("네, 손목형 혈압계예요" → "손목형 혈압계예요")."""
    clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
    kept = [c for c in clauses if not is_uninformative(c)]
    return ", ".join(kept) if kept else ""


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
        """Whether any term of the lexicon occurs (stops at the first one found)."""
        if any(t in norm_text for t in self.substrings):
            return True
        if not (self.words or self.stems or self.phrases or self.phrase_stems):
            return False
        idx = _index(norm_text)
        if not self.words.isdisjoint(idx.tokens):
            return True
        if any(stem in idx.prefixes for stem in self.stems):
            return True
        if any(f" {p} " in idx.joined or f" {p}s " in idx.joined for p in self.phrases):
            return True
        return any(f" {p}" in idx.joined for p in self.phrase_stems)


class LexiconIndex:
    """Which of many lexicons hit a text, in one pass over the terms of all of them.

    Same matching rules as `Lexicon.hit`; used to find the few archetypes whose first term
    group occurs before checking their other groups, instead of trying all of them.
    """

    def __init__(self, lexicons: Iterable[tuple[int, Lexicon]]) -> None:
        subs: dict[str, set[int]] = {}
        words: dict[str, set[int]] = {}
        stems: dict[str, set[int]] = {}
        phrases: dict[str, set[int]] = {}
        phrase_stems: dict[str, set[int]] = {}
        for key, lex in lexicons:
            for table, terms in (
                (subs, lex.substrings),
                (words, lex.words),
                (stems, lex.stems),
                (phrases, lex.phrases),
                (phrase_stems, lex.phrase_stems),
            ):
                for term in terms:
                    table.setdefault(term, set()).add(key)
        self._subs = tuple((t, frozenset(k)) for t, k in subs.items())
        self._words = {t: frozenset(k) for t, k in words.items()}
        self._stems = {t: frozenset(k) for t, k in stems.items()}
        self._phrases = tuple((t, frozenset(k)) for t, k in phrases.items())
        self._phrase_stems = tuple((t, frozenset(k)) for t, k in phrase_stems.items())

    def hits(self, norm_text: str) -> set[int]:
        """Keys of the lexicons with at least one term in an already-normalised text."""
        found: set[int] = set()
        for term, keys in self._subs:
            if term in norm_text:
                found |= keys
        idx = _index(norm_text)
        for token in idx.tokens:
            if token in self._words:
                found |= self._words[token]
        for stem in idx.prefixes:
            if stem in self._stems:
                found |= self._stems[stem]
        joined = idx.joined
        for phrase, keys in self._phrases:
            if f" {phrase} " in joined or f" {phrase}s " in joined:
                found |= keys
        for phrase, keys in self._phrase_stems:
            if f" {phrase}" in joined:
                found |= keys
        return found


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
