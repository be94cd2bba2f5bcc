"""Automatic screening flags personal data and profanity for a second look by a moderator."""

from __future__ import annotations

import pytest

from server.domain.screening import screen

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
