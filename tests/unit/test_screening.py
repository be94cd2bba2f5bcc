"""Automatic screening flags personal data and profanity for a second look by a moderator."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pytest
from better_profanity import Profanity
from better_profanity.utils import read_wordlist
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata

from server.domain import screening
from server.domain.screening import PLAIN_LANGUAGE, screen

# Numbers from Ofcom's ranges reserved for drama and documentation.
UK_NUMBERS = ["+44 20 7946 0958", "020 7946 0958", "0161 496 0000", "+44 161 496 0000"]


@pytest.mark.parametrize(
    "text",
    [
        "Please reply to jane.doe@example.org",
        "Is firstname+podium@sub.example.co.uk read by anyone?",
        "MAIL ME: J_SMITH99@EXAMPLE.COM",
    ],
)
def test_email_address_is_flagged(text):
    assert screen(text) == ("email",)


@pytest.mark.parametrize("number", UK_NUMBERS)
def test_uk_phone_number_is_flagged_with_or_without_the_country_code(number):
    assert screen(f"My neighbour is on {number}, can someone call?") == ("phone",)


@pytest.mark.parametrize("number", ["+1 202 555 0143", "+33 1 23 45 67 89", "+353 1 234 5678"])
def test_international_phone_number_is_flagged(number):
    assert screen(f"Call me on {number}") == ("phone",)


def test_profanity_is_flagged():
    assert screen("Is this shit acceptable?") == ("profanity",)


def test_every_reason_is_reported_in_a_fixed_order():
    text = "This is shit, write to a@example.org or ring 0161 496 0000"
    assert screen(text) == ("profanity", "email", "phone")


@pytest.mark.parametrize(
    "text",
    [
        "In 2024 there were 1500 arrests, a 25% rise",
        "Why did response times rise from 2019 to 2023 by 12.5%?",
        "How many of the 43 forces met the 999 call target of 10 seconds?",
        "Between 2010 and 2020 police numbers fell by 20,000 officers.",
        "Why were 1,234,567 calls made to 999 in 2022-2023?",
        "Operation 2023/45 cost £1,250,000 over 18 months",
        "The 101 non-emergency line took 45 minutes to answer",
        "Section 60 stop and search powers were used 12345 times",
        "Why did knife crime go up in the town centre?",
    ],
)
def test_ordinary_policing_question_is_not_flagged(text):
    assert screen(text) == ()


@pytest.mark.parametrize(
    "text",
    [
        "What is being done about hate crime against gay and lesbian people?",
        "How many rape reports led to a charge in 2023?",
        "Why are strip searches of children still happening?",
        "How many drunk drivers were stopped over Christmas?",
        "What is the clearance rate for murder investigations?",
        "Is heroin use rising in the city centre?",
    ],
)
def test_question_about_a_crime_is_not_flagged_as_profanity(text):
    assert "profanity" not in screen(text)


LOOK_ALIKES = str.maketrans({"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"})


@lru_cache(maxsize=1)
def stock_profanity() -> Profanity:
    """better_profanity itself, with our whitelist: what the fast check must agree with."""
    stock = Profanity()
    stock.load_censor_words(whitelist_words=list(PLAIN_LANGUAGE))
    return stock


@lru_cache(maxsize=1)
def listed_words() -> list[str]:
    stock = stock_profanity()
    return sorted(set(read_wordlist(stock._default_wordlist_filename)) | set(PLAIN_LANGUAGE))


def test_fast_profanity_check_answers_as_better_profanity_does_for_its_whole_word_list():
    stock, fast = stock_profanity(), screening._profanity()
    words = listed_words()
    texts = [
        text
        for word in words
        for text in (
            f"Is {word} ok?",
            f"{word.translate(LOOK_ALIKES)}!",
            f"{word}s and {word}x",
            f"{word.upper()}",
            f"a {word[:1]}-{word[1:]} b",
            f"{word[:2]}  {word[2:]}.",
            " ".join(word),
        )
    ]

    differing = [t for t in texts if fast(t) != stock.contains_profanity(t)]

    assert len(words) > 900
    assert sum(map(fast, texts)) > len(texts) / 3  # some are flagged
    assert differing == []


def test_every_beginning_of_a_listed_word_is_known_to_continue():
    """The check stops joining runs once no listed word can begin with the join so far: a
    beginning it wrongly took for a dead end would hide a flagged word."""
    words = screening._profanity().words
    listed = [str(word) for word in stock_profanity().CENSOR_WORDSET]
    spellings = listed + [word.translate(LOOK_ALIKES) for word in listed]
    beginnings = [word[:end] for word in spellings for end in range(1, len(word))]

    assert len(beginnings) > 5000
    assert [start for start in beginnings if not words.continues(start)] == []
    assert not any(map(words.continues, ["willth", "howw", "publish", "x" * 30]))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "?!",
        "  s",
        "shit",
        "shit.",
        "ok shit",
        "ok shi t",
        "bull shit?",
        "bull  shit",
        "bull-shit x",
        "mother fucker",
        "s-h-i-t",
        "s h i t",
        "****",
        "**** ok",
        "f u c k e r s",
        "what a b",
        "Bull Shit!",
        "İ am ok",
        "ΣΑΣ fuck",
    ],
)
def test_fast_profanity_check_agrees_with_better_profanity_at_the_edges(text):
    assert screening._profanity()(text) == stock_profanity().contains_profanity(text)


SEPARATORS = [" ", "  ", "-", "_", ".", ", ", "!", "?", "\n", "+", "/", "é", "İ", "É"]
PIECES = st.one_of(
    st.sampled_from(listed_words()),
    st.sampled_from(SEPARATORS),
    st.text(alphabet="aeiostl@$*4301578!uv ", min_size=1, max_size=4),
    st.text(min_size=1, max_size=3),
)


@st.composite
def texts_from_the_word_list(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(PIECES, max_size=12))
    if draw(st.booleans()):  # some words written with look-alikes, some upper-cased
        pieces = [piece.translate(LOOK_ALIKES) for piece in pieces]
    if draw(st.booleans()):
        pieces = [piece.upper() if draw(st.booleans()) else piece for piece in pieces]
    return "".join(pieces)


@settings(max_examples=400, deadline=None)
@given(text=texts_from_the_word_list())
def test_fast_profanity_check_agrees_with_better_profanity_on_random_texts(text):
    assert screening._profanity()(text) == stock_profanity().contains_profanity(text)


def test_no_valid_phone_number_is_shorter_than_the_digits_screening_requires():
    shortest = min(
        min(metadata.general_desc.possible_length)
        for metadata in [
            *map(PhoneMetadata.metadata_for_region, phonenumbers.SUPPORTED_REGIONS),
            *map(
                PhoneMetadata.metadata_for_nongeo_region,
                phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS,
            ),
        ]
    )
    assert shortest == screening.SHORTEST_NUMBER_DIGITS


@pytest.mark.parametrize("number", ["+49 30 1234", "+683 4002", "0161 496 0000"])
def test_short_valid_numbers_are_still_flagged(number):
    assert screen(f"ring {number} now") == ("phone",)
