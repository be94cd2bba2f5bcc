"""The catalogues: complete for every string in the sources, compilable, placeholders intact."""

from __future__ import annotations

import gettext
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server import i18n

ROOT = Path(__file__).resolve().parent.parent.parent
TRANSLATED = ("cy", "fr", "es")
# The same keywords as the documented `pybabel extract` command (docs/translating.md).
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None, "tn": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
MARKUP = re.compile(r"</?[a-z]+[^>]*>|&[a-z]+;|[<>\"&]")
PLURAL_FORMS = {"cy": 6, "fr": 2, "es": 2}


def extracted() -> dict[str | tuple[str, ...], set[str]]:
    """Every message in the sources now, with the files it appears in."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, ...], set[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, set()).add(filename.replace("\\", "/"))
    return found


@pytest.fixture(scope="module")
def sources():
    return extracted()


def catalogue(locale: str):
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_extraction_finds_the_strings_of_templates_scripts_and_python(sources):
    files = {name for names in sources.values() for name in names}
    assert any(name.startswith("server/templates/viewer.html") for name in files)
    assert "client_static/js/viewer.js" in files and "server/http/pages.py" in files
    assert ("%(num)s vote", "%(num)s votes") in sources  # tn(): singular and plural
    assert "Skip to main content" in sources


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_string_in_the_sources_is_translated(sources, locale):
    """Adding a string to a template, script or page title without translating it fails here."""
    catalog = catalogue(locale)
    problems = []
    for key, files in sources.items():
        msgid = key if isinstance(key, str) else key[0]
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r} ({', '.join(sorted(files))})")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"fuzzy or empty: {msgid!r}")
        if isinstance(key, tuple) != message.pluralizable:
            problems.append(f"plural form changed, run pybabel update: {msgid!r}")
        scripts = {name for name in files if name.startswith("client_static/js/")}
        known = {filename for filename, _line in message.locations}
        if not scripts <= known:  # scripts get their messages by these locations
            problems.append(f"run pybabel update, {msgid!r} is now used in {scripts - known}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalogue_compiles_with_the_right_plural_forms(locale):
    catalog = catalogue(locale)
    assert catalog.num_plurals == PLURAL_FORMS[locale]
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = gettext.GNUTranslations(buffer)
    assert translations.gettext("Skip to main content") != "Skip to main content"
    for message in catalog:
        if message.pluralizable and message.id:
            assert len(message.string) == PLURAL_FORMS[locale], message.id


def test_welsh_has_six_plural_forms_chosen_by_number():
    catalog = catalogue("cy")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    plural = gettext.GNUTranslations(buffer).plural
    assert [plural(n) for n in (0, 1, 2, 3, 4, 5, 6, 7, 11, 100)] == [0, 1, 2, 3, 5, 5, 4, 5, 5, 5]


def markup_kept(original: str, translated: str) -> bool:
    """Template text is trusted HTML: keep its tags, and add no markup, entity or quote."""
    before, after = Counter(MARKUP.findall(original)), Counter(MARKUP.findall(translated))
    tags = Counter(token for token in before.elements() if token.startswith("<"))
    return not (after - before) and not (tags - after)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_placeholders_and_markup(locale):
    """A lost %(name)s breaks at runtime; stray markup or quotes break template HTML."""
    problems = []
    for message in catalogue(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = placeholders(ids[-1])
        in_template = any(name.endswith(".html") for name, _line in message.locations)
        for text in filter(None, strings):
            if set(placeholders(text)) != set(wanted):
                problems.append(f"{message.id!r}: {text!r}")
            if in_template and not markup_kept(ids[0], text):
                problems.append(f"markup differs in {message.id!r}: {text!r}")
    assert problems == [], "\n".join(problems)


def test_loaded_catalogues_give_each_script_its_own_messages():
    catalogues = i18n.load_catalogues()
    welsh = catalogues.js_messages("cy", "viewer.html")
    assert welsh["locale"] == "cy" and "n==6" in welsh["plural"]
    assert welsh["messages"]["Waiting for moderation"] == "Yn aros i gael ei gymedroli"
    assert welsh["messages"]["%(num)s vote"][1] == "%(num)s pleidlais"  # a list of forms
    assert "Settings saved." not in welsh["messages"]  # the organiser's page only
    assert catalogues.js_messages("en", "viewer.html")["messages"] == {}


def test_page_scripts_follow_imports():
    scripts = i18n.page_scripts("viewer.html")
    assert {"viewer.js", "common.js", "watch.js", "player.js", "i18n.js", "shell.js"} <= scripts
    assert "admin.js" not in scripts


@pytest.mark.parametrize(
    ("choice", "cookie", "header", "expected"),
    [
        ("fr", "cy", "es", "fr"),  # the explicit choice wins
        ("xx", "cy", "es", "cy"),  # an unknown choice is ignored
        (None, None, "de-DE, cy-GB;q=0.8, fr;q=0.9", "fr"),  # by quality
        (None, None, "de, en-GB;q=0.1", "en"),
        (None, None, "cy;q=0, es;q=0.2", "es"),  # q=0 means "not this"
        (None, None, "", "en"),
        (None, "zz", "garbage;;q=abc", "en"),
    ],
)
def test_language_is_negotiated_from_choice_cookie_then_browser(choice, cookie, header, expected):
    assert i18n.negotiate(choice, cookie, header) == expected


def test_dates_follow_the_readers_variant_of_the_language():
    assert i18n.format_locale("en", "en-GB,en;q=0.9") == "en_GB"
    assert i18n.format_locale("cy", "en-GB") == "cy"
