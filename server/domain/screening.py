"""Automatic screening: flags (never drops) questions a moderator should look at twice."""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import phonenumbers
from better_profanity import Profanity

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Regions tried when a number is written without its international prefix; the first
# users are UK public bodies, and the rest cover the languages we ship.
PHONE_REGIONS = ("GB", "IE", "FR", "ES", "US")
# The fewest digits of any valid number in phonenumbers' metadata (Germany, Austria, Niue, ...);
# tests/unit/test_screening.py checks it against the installed metadata.
SHORTEST_NUMBER_DIGITS = 4
DECIMAL_DIGIT = re.compile(r"\d")  # in str patterns, any Unicode decimal digit, as isdecimal


# better_profanity's list includes words that people need to discuss crime, health and
# identity plainly at a public meeting ("strip searches", "rape reports", "gay and lesbian
# residents", "a stroke"). A flag on those would be noise that hides the real ones.
PLAIN_LANGUAGE = [
    "gay",
    "gays",
    "lesbian",
    "lesbians",
    "queer",
    "transsexual",
    "rape",
    "raped",
    "raping",
    "rapist",
    "strip",
    "drunk",
    "murder",
    "kill",
    "heroin",
    "meth",
    "opiate",
    "opium",
    "pcp",
    "ganja",
    "hemp",
    "weed",
    "pot",
    "reefer",
    "stoned",
    "valium",
    "vodka",
    "rum",
    "sex",
    "sexual",
    "hiv",
    "herpes",
    "god",
    "hell",
    "naked",
    "nude",
    "prostitute",
    "pimp",
    "molest",
    "pedophile",
    "pedophilia",
    "porn",
    "pornography",
    "nazi",
    "nazism",
    "hitler",
    "slave",
    "sniper",
    "thug",
    "breasts",
    "vagina",
    "penis",
    "womb",
    "uterus",
    "ovary",
    "testicle",
    "rectal",
    "menstruation",
    "tampon",
    "stroke",
    "seaman",
    "seamen",
    "pawn",
    "organ",
    "oral",
    "orally",
    "urine",
    "urinal",
    "vomit",
    "len",
    "maxi",
    "revue",
    "sandbar",
    "pasty",
    "stupid",
    "ugly",
    "dummy",
]


# How many first letters of each word `_CompiledWordSet.prefixes` spells out (9,000 strings):
# enough to dismiss almost every ordinary word with one set lookup.
PREFIX = 4
# What better_profanity writes in place of a flagged word; a text is profane when censoring
# changes it, so a word already written this way changes nothing.
REPLACEMENT = "****"


class _CompiledWordSet:
    """better_profanity's word list, answering `word in words` with compiled patterns.

    The library keeps a list of VaryingStrings (each letter may be written as look-alikes:
    a/@/4, s/$/5, ...) and compares every word and word pair of a text with all of it: about
    10 ms a question. Every look-alike stands for exactly one character, so a candidate can
    only equal words of its own length whose first letter allows its first character: one
    regular expression per (length, first character) answers the same in microseconds."""

    def __init__(self, words: list) -> None:
        buckets: dict[tuple[int, str], list[str]] = {}
        self.prefixes: set[str] = set()  # every spelling of every word's first PREFIX letters
        # each word's letters as character classes, by the first characters it may start with
        self._letters: dict[str, list[list[str]]] = {}
        for word in words:
            combos = word._char_combos
            if any(len(char) != 1 for chars in combos for char in chars):
                raise ValueError(f"look-alikes of {word} are not single characters")
            letters = ["[" + "".join(re.escape(char) for char in chars) + "]" for chars in combos]
            for first in combos[0] if combos else ():
                buckets.setdefault((len(combos), first), []).append("".join(letters))
                self._letters.setdefault(first, []).append(letters)
            for length in range(1, min(PREFIX, len(combos)) + 1):
                self.prefixes.update(map("".join, itertools.product(*combos[:length])))
        self.longest = max((length for length, _first in buckets), default=0)
        self._patterns = {key: re.compile("|".join(alts)) for key, alts in buckets.items()}
        self._contains = lru_cache(maxsize=65536)(self._matches)
        self._continued = lru_cache(maxsize=65536)(self._begins)
        self._beginnings = lru_cache(maxsize=None)(self._compile_beginnings)

    def _matches(self, candidate: str) -> bool:
        pattern = self._patterns.get((len(candidate), candidate[:1]))
        return pattern is not None and pattern.fullmatch(candidate) is not None

    def _begins(self, start: str) -> bool:
        pattern = self._beginnings(len(start), start[:1])
        return pattern is not None and pattern.fullmatch(start) is not None

    def _compile_beginnings(self, length: int, first: str) -> re.Pattern[str] | None:
        """The first `length` letters of every listed word longer than that which may start
        with `first`: compiled when first needed, as most (length, first) never are."""
        alternatives = {
            "".join(letters[:length])
            for letters in self._letters.get(first, ())
            if len(letters) > length
        }
        return re.compile("|".join(sorted(alternatives))) if alternatives else None

    def continues(self, start: str) -> bool:
        """Whether some listed word is longer than `start` and may begin with it: when none
        is, no text that begins with `start` and is longer can be a listed word."""
        return (
            0 < len(start) < self.longest
            and start[:PREFIX] in self.prefixes
            and self._continued(start)
        )

    def __contains__(self, candidate: str) -> bool:
        return (
            len(candidate) <= self.longest
            and candidate[:PREFIX] in self.prefixes
            and self._contains(candidate)
        )


class _ProfanityCheck:
    """better_profanity's `contains_profanity`, without its character-by-character scan.

    The library censors the text and compares it with the original. It splits the text (from
    its first word character on) into runs of its ALLOWED_CHARACTERS; a run followed by a
    separator is flagged when, lower-cased, it is a listed word, or when it and up to
    MAX_NUMBER_COMBINATIONS of the following runs, joined with or without the separators
    between them, are; the text's last run is only looked up alone, and a one-character run
    at the very end joins nothing. The first flag changes the text, so this stops there.
    Its answers are compared with the library's in tests/unit/test_screening.py."""

    def __init__(self, profanity: Profanity) -> None:
        if any(char.isspace() for char in profanity.ALLOWED_CHARACTERS):
            raise ValueError("better_profanity drops whitespace runs; this check does not")
        self.words = _CompiledWordSet(profanity.CENSOR_WORDSET)
        self.joined = profanity.MAX_NUMBER_COMBINATIONS
        allowed = _character_class(profanity.ALLOWED_CHARACTERS)
        self._first = re.compile(allowed)
        self._separators = re.compile(f"([^{allowed[1:-1]}]+)")
        # The same split for text all in ASCII: a class of 70 characters rather than 5,864
        # is matched several times faster, with the same answer on such text.
        allowed_ascii = _character_class({c for c in profanity.ALLOWED_CHARACTERS if c.isascii()})
        self._ascii_separators = re.compile(f"([^{allowed_ascii[1:-1]}]+)")

    def __call__(self, text: str) -> bool:
        first = self._first.search(text)
        if first is None or first.start() >= len(text) - 1:
            return False  # the library's "no words" shortcut
        # [run, separator, run, ..., separator, run or "" when the text ends with a separator]
        separators = self._ascii_separators if text.isascii() else self._separators
        parts = separators.split(text[first.start() :])
        runs, separators = parts[0::2], parts[1::2]
        if runs[-1] == "":
            runs.pop()
            joinable = len(runs)
        else:  # a one-character run at the very end joins nothing
            joinable = len(runs) - (len(runs[-1]) == 1)
        words = self.words
        for index, run in enumerate(runs):
            lowered = run.lower()
            if lowered[:PREFIX] not in words.prefixes:
                continue  # no listed word starts this way, alone or joined
            if words.continues(lowered) and self._joins(runs, separators, index, joinable, lowered):
                return True
            if run != REPLACEMENT and lowered in words:
                return True
        return False

    def _joins(
        self, runs: list[str], separators: list[str], index: int, joinable: int, lowered: str
    ) -> bool:
        """Does the run at `index` form a listed word with the runs after it?"""
        words = self.words
        joined = with_separators = lowered
        for later in range(index + 1, min(joinable, index + 1 + self.joined)):
            joined += runs[later].lower()
            with_separators += (separators[later - 1] + runs[later]).lower()
            if joined in words or with_separators in words:
                return True
            if not (words.continues(joined) or words.continues(with_separators)):
                return False  # longer joins start the same way
        return False


def _character_class(characters: set[str]) -> str:
    """A regular expression character class of `characters`, as ranges of code points."""
    points = sorted(map(ord, characters))
    ranges: list[list[int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return (
        "["
        + "".join(
            re.escape(chr(low)) + ("-" + re.escape(chr(high)) if high > low else "")
            for low, high in ranges
        )
        + "]"
    )


@lru_cache(maxsize=1)
def _profanity() -> _ProfanityCheck:
    library = Profanity()
    library.load_censor_words(whitelist_words=list(PLAIN_LANGUAGE))
    return _ProfanityCheck(library)


def screen(text: str) -> tuple[str, ...]:
    """Return the reasons a moderator should look at `text`: profanity, email, phone."""
    flags = []
    if _profanity()(text):
        flags.append("profanity")
    if "@" in text and EMAIL.search(text):  # the search alone takes longer on most text
        flags.append("email")
    if _contains_phone_number(text):
        flags.append("phone")
    return tuple(flags)


def _contains_phone_number(text: str) -> bool:
    # The matcher is slow even on text without a number. Every valid number has at least
    # SHORTEST_NUMBER_DIGITS digits (its national significant number, in any region), and the
    # matcher counts only decimal digits, so text with fewer cannot hold one.
    if len(DECIMAL_DIGIT.findall(text)) < SHORTEST_NUMBER_DIGITS:
        return False
    for region in PHONE_REGIONS:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
        if matcher.has_next():
            return True
    return False
