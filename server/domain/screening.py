"""Automatic screening: flags (never drops) questions a moderator should look at twice."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from better_profanity import Profanity

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Regions tried when a number is written without its international prefix; the first
# users are UK public bodies, and the rest cover the languages we ship.
PHONE_REGIONS = ("GB", "IE", "FR", "ES", "US")


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


@lru_cache(maxsize=1)
def _profanity() -> Profanity:
    checker = Profanity()
    checker.load_censor_words(whitelist_words=PLAIN_LANGUAGE)
    return checker


def screen(text: str) -> tuple[str, ...]:
    """Return the reasons a moderator should look at `text`: profanity, email, phone."""
    flags = []
    if _profanity().contains_profanity(text):
        flags.append("profanity")
    if EMAIL.search(text):
        flags.append("email")
    if _contains_phone_number(text):
        flags.append("phone")
    return tuple(flags)


def _contains_phone_number(text: str) -> bool:
    for region in PHONE_REGIONS:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
        if matcher.has_next():
            return True
    return False
