"""CJK-aware keyword matching, shared by classification and by subscription keyword filters.

Rules for one keyword ("term"):
- Matching ignores case; text is folded with `fold` (str.lower) once, terms are folded when compiled.
- Where a term begins or ends with a Latin letter or digit, the neighbouring text character must not be a
  Latin letter or digit: "AI" matches "AI芯片", "Meta's AI." and "AI-native" but not "said" or "OpenAI".
  CJK characters (Han, kana, hangul, bopomofo) count as boundaries, since Chinese and Japanese put no
  spaces between words; a term edge that is CJK has no boundary rule, so CJK terms match as substrings.
- A trailing `*` makes a prefix match: "robot*" matches "robot", "robots" and "robotics". Without it a
  Latin term matches the whole word only ("robot" does not match "robots"): predictable beats clever.
- Inside a term, spaces and hyphens match any run of spaces and hyphens ("open source" matches
  "open-source"); between a CJK and a non-CJK character any spacing is allowed ("AI芯片" matches "AI 芯片").
- Text is not Unicode-normalised (NFKC costs ~50 µs per item, too much for fan-out); terms are, so a
  full-width term typed by a user ("ＡＩ") still matches ASCII text.

A `TermSet` compiles all its terms into one regex whose alternatives all start with a literal, so the
regex engine can skip ahead by first character. The class of Latin word characters spans the CJK
ranges and costs ~5 ms to compile each time a pattern spells it, so a TermSet spells it once: the
right boundary is one lookahead after the whole alternation (terms that need none skip it through
the empty group they end with), and the left boundary, which depends on the position only (every
alternative there starts with the same character), is checked in Python on each match.
A TermSet first searches with a quick pattern whose right boundary refuses only ASCII letters and
digits (nothing to compile); that accepts every match the exact one does, so a match whose next
character passes the exact rule too is the exact pattern's match. Only when one does not (a bounded
term followed by a non-ASCII letter or digit, as in "cafeé") is the exact pattern compiled and the
search repeated with it from the same place: on ordinary text no Latin-word class is compiled.
Compiling is the expensive part (the re module's compiler is pure Python: ~26 ms for the 685 keywords
of the example config), so a pattern is compiled when first used, and `counts` (classification, one
text per item) compiles one over the terms whose first token occurs in the text, cached by those
terms: a term whose first token is absent cannot match anywhere, so the matches are the same, and a
digest's classification compiles a few short patterns instead of the whole vocabulary. `search` (the
subscription filters of fan-out, the same terms against every item) keeps one pattern of all terms.
`compile_terms` caches TermSets by their terms because the same subscription filters are applied to
every digest.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from itertools import pairwise

from bot.core.problems import Problem

MAX_TERM_LENGTH = 100

_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK and Kangxi radicals
    "\u3005-\u3007\u3021-\u3029"  # ideographic iteration mark, closing mark, number zero, Hangzhou numerals
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f\u3130-\u318f\u31a0-\u31bf\u31f0-\u31ff"  # Bopomofo, Hangul compat. Jamo, Katakana ext.
    "\u3400-\u4dbf\u4e00-\u9fff"  # CJK Unified Ideographs (+ extension A)
    "\ua960-\ua97f\uac00-\ud7ff"  # Hangul Jamo extended, syllables
    "\uf900-\ufaff\uff66-\uff9f"  # CJK compatibility ideographs, half-width Katakana
    "\U00020000-\U0003134f"  # CJK Unified Ideographs extensions B-H
)
# The same ranges as code point bounds: a character is tested against them with a bisection, since
# compiling `_CJK` into a pattern costs ~5 ms each time (the re module fills a 64K table in Python).
_CJK_FIRST = tuple(ord(_CJK[i]) for i in range(0, len(_CJK), 3))
_CJK_LAST = tuple(ord(_CJK[i + 2]) for i in range(0, len(_CJK), 3))
# A "Latin word character": a letter or digit that is not CJK. Underscore counts as a boundary.
_WORD = f"[^\\W_{_CJK}]"
_SEPARATOR_CHARS = "\\s\\-\u2010-\u2015"
_SEPARATORS = re.compile(f"[{_SEPARATOR_CHARS}]+")
_JOIN_REQUIRED = f"[{_SEPARATOR_CHARS}]+"
_JOIN_OPTIONAL = f"[{_SEPARATOR_CHARS}]*"


class KeywordError(Problem):
    """A keyword that cannot be compiled; names the keyword so a user can fix their filter."""

    def __init__(self, code: str, term: str, **params: object) -> None:
        self.term = term
        super().__init__(code, term=term, **params)


def is_cjk(char: str) -> bool:
    """True for a Han, kana, hangul or bopomofo character."""
    if len(char) != 1:
        return False
    code = ord(char)
    index = bisect_right(_CJK_FIRST, code) - 1
    return index >= 0 and code <= _CJK_LAST[index]


def _is_word(text: str, index: int) -> bool:
    """True when `text[index]` is a Latin word character (`_WORD`: \\w is a letter or digit or `_`)."""
    if index >= len(text):
        return False
    char = text[index]
    return char.isalnum() and not is_cjk(char)


@cache
def _cjk_char() -> re.Pattern[str]:
    return re.compile(f"[{_CJK}]")


def has_cjk(text: str) -> bool:
    return _cjk_char().search(text) is not None


def fold(text: str) -> str:
    """The form of a text that TermSets match against; fold an item's text once, match it many times."""
    return text.lower()


def _tokens(folded: str) -> list[str]:
    """Split at separators and at every change between CJK and non-CJK characters."""
    tokens: list[str] = []
    for piece in _SEPARATORS.split(folded):
        start = 0
        for index in range(1, len(piece)):
            if is_cjk(piece[index]) != is_cjk(piece[index - 1]):
                tokens.append(piece[start:index])
                start = index
        if piece:
            tokens.append(piece[start:])
    return tokens


def _canonical(tokens: list[str]) -> str:
    """One spelling for every text a term matches; maps a regex match back to the term it came from."""
    out = tokens[0]
    for previous, token in pairwise(tokens):
        latin_pair = not is_cjk(previous[-1]) and not is_cjk(token[0])
        out += (" " if latin_pair else "") + token
    return out


class _Term:
    """One validated keyword: its display form, canonical key and regex source."""

    __slots__ = ("bounded", "canonical", "head", "pattern", "prefix", "text")

    def __init__(self, raw: str) -> None:
        if not isinstance(raw, str):
            raise KeywordError("keyword_not_text", repr(raw))
        text = " ".join(unicodedata.normalize("NFKC", raw).split())
        if len(text) > MAX_TERM_LENGTH:
            raise KeywordError("keyword_too_long", raw, limit=MAX_TERM_LENGTH)
        self.prefix = text.endswith("*")
        body = text[:-1] if self.prefix else text
        if "*" in body:
            raise KeywordError("keyword_star", raw)
        tokens = _tokens(fold(body))
        if not tokens:
            raise KeywordError("keyword_empty", raw)
        self.text = text
        self.canonical = _canonical(tokens)
        self.pattern = self._regex(tokens)
        self.head = tokens[0]  # the literal every match of the term starts with
        # Whole-word terms ending in a Latin letter or digit must not be followed by one.
        self.bounded = not self.prefix and _is_word(tokens[-1][-1], 0)

    def _regex(self, tokens: list[str]) -> str:
        """The term's text with flexible joins; its boundaries are the TermSet's (module docstring)."""
        parts = [re.escape(tokens[0])]
        for previous, token in pairwise(tokens):
            latin_pair = not is_cjk(previous[-1]) and not is_cjk(token[0])
            parts.append(_JOIN_REQUIRED if latin_pair else _JOIN_OPTIONAL)
            parts.append(re.escape(token))
        return "".join(parts)


class TermSet:
    """A compiled, immutable set of keywords; empty sets match nothing."""

    __slots__ = ("_all", "_by_canonical", "_ordered", "terms")

    def __init__(self, terms: Iterable[str]) -> None:
        compiled: dict[str, _Term] = {}
        for raw in terms:
            term = _Term(raw)
            known = compiled.get(term.canonical)
            # A prefix term covers the exact term with the same spelling; keep one so counts are not split.
            if known is None or (term.prefix and not known.prefix):
                compiled[term.canonical] = term
        ordered = sorted(compiled.values(), key=lambda t: (-len(t.canonical), t.canonical))
        self.terms: tuple[str, ...] = tuple(t.text for t in ordered)
        self._by_canonical = {t.canonical: t.text for t in ordered}
        self._ordered = tuple(ordered)
        self._all: _Patterns | None = None  # every term's, compiled at the first `search`

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return f"TermSet({list(self.terms)!r})"

    def search(self, text: str) -> bool:
        """True if any term occurs in `text`."""
        return self.search_folded(fold(text))

    def search_folded(self, folded: str) -> bool:
        """`search` for a text already passed through `fold` (the hot path of subscription fan-out)."""
        if not self._ordered:
            return False
        if self._all is None:
            self._all = _Patterns(self._ordered)
        return next(self._all.matches(folded), None) is not None

    def counts(self, text: str) -> dict[str, int]:
        """Occurrences of each term that occurs (non-overlapping, longest match first at each position)."""
        return self.counts_folded(fold(text))

    def counts_folded(self, folded: str) -> dict[str, int]:
        found: dict[str, int] = {}
        present = tuple(term for term in self._ordered if term.head in folded)
        if not present:
            return found
        for match in _patterns(present).matches(folded):
            term = self._by_canonical[_canonical(_tokens(match.group()))]
            found[term] = found.get(term, 0) + 1
        return found


class _Patterns:
    """The patterns of some terms, longest first: the quick one, and the exact one when it is needed."""

    __slots__ = ("_exact", "_ordered", "_quick")

    def __init__(self, ordered: tuple[_Term, ...]) -> None:
        self._ordered = ordered
        self._quick = _compile(ordered, _QUICK_RIGHT)
        self._exact: re.Pattern[str] | None = None

    def matches(self, folded: str) -> Iterator[re.Match[str]]:
        """The pattern's non-overlapping matches that pass the left boundary: none starts with a Latin
        letter or digit right after another one. A match failing it rules out its whole position, since
        every alternative there starts with the same character, so the search goes on one further.

        The quick pattern's match stands when the exact right boundary holds for it too (a term that
        needs none matched its empty group, or no Latin word character follows); otherwise the exact
        pattern searches again from the same place (module docstring)."""
        pattern = self._quick
        position = 0
        while (match := pattern.search(folded, position)) is not None:
            if match.lastindex is None and _is_word(folded, match.end()):
                pattern = self._exact_pattern()
                continue
            start = match.start()
            if start and _is_word(folded, start) and _is_word(folded, start - 1):
                position = start + 1
                continue
            yield match
            position = match.end()

    def _exact_pattern(self) -> re.Pattern[str]:
        if self._exact is None:
            self._exact = _compile(self._ordered, f"(?!{_WORD})")
        return self._exact


@lru_cache(maxsize=1024)
def _patterns(present: tuple[_Term, ...]) -> _Patterns:
    """The patterns of the terms found in one text; texts mentioning the same terms share them."""
    return _Patterns(present)


# The quick right boundary: refuses what every Latin word character test refuses, and little more.
_QUICK_RIGHT = "(?![a-z0-9])"


def _compile(ordered: tuple[_Term, ...], boundary: str) -> re.Pattern[str]:
    """One regex for the terms, longest first (at one position the longest term wins, so nested
    keywords count once), then the right `boundary` once, which terms ending in an empty group skip."""
    alternatives: list[str] = []
    exempt: list[str] = []
    for term in ordered:
        if term.bounded:
            alternatives.append(term.pattern)
        else:
            alternatives.append(f"{term.pattern}()")
            exempt.append(f"(?({len(exempt) + 1})|(?!))")  # passes when that term's group matched
    right = "|".join([*exempt, boundary])
    return re.compile(f"(?:{'|'.join(alternatives)})(?:{right})")


@lru_cache(maxsize=8192)
def compile_terms(terms: tuple[str, ...]) -> TermSet:
    """A cached TermSet: one compile per distinct keyword list, however many items it is matched against."""
    return TermSet(terms)
