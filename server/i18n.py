"""Languages: catalogues compiled at start-up, the reader's language per request, Jinja2 hooks.

One catalogue per language (server/locale/<lang>/LC_MESSAGES/messages.po) serves Python,
the templates and the page scripts; docs/translating.md says how to extract and update it.
"""

from __future__ import annotations

import contextvars
import gettext as gettext_module
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from aiohttp import web
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
PROJECT_DIR = Path(__file__).resolve().parent.parent
JS_DIR = PROJECT_DIR / "client_static" / "js"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_LOCALE = "en"
# Each language named in itself, as the switcher shows it.
LANGUAGES = {"en": "English", "cy": "Cymraeg", "fr": "Français", "es": "Español"}
COOKIE = "podium_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
ENGLISH_PLURAL = "(n != 1)"

_SCRIPT_SRC = re.compile(r"""/js/([\w-]+\.js)""")
_JS_IMPORT = re.compile(r"""from\s+['"]\./([\w-]+\.js)['"]|import\(\s*['"]\./([\w-]+\.js)['"]""")


@dataclass(frozen=True)
class Catalogue:
    """One language: its translations, and the page scripts' messages file by file."""

    locale: str
    translations: gettext_module.NullTranslations
    plural: str = ENGLISH_PLURAL
    js_messages: dict[str, dict[str, str | list[str]]] = field(default_factory=dict)


@dataclass
class Catalogues:
    """Every language's catalogue, and which scripts each template loads (found once)."""

    by_locale: dict[str, Catalogue]
    _page_scripts: dict[str, frozenset[str]] = field(default_factory=dict)

    def get(self, locale: str) -> Catalogue:
        return self.by_locale.get(locale) or self.by_locale[DEFAULT_LOCALE]

    def js_messages(self, locale: str, template: str) -> dict[str, Any]:
        """What the scripts of `template` need in `locale`, to embed in the page."""
        catalogue = self.get(locale)
        if template not in self._page_scripts:
            self._page_scripts[template] = page_scripts(template)
        messages: dict[str, str | list[str]] = {}
        for script in sorted(self._page_scripts[template]):
            messages.update(catalogue.js_messages.get(script, {}))
        return {"locale": catalogue.locale, "plural": catalogue.plural, "messages": messages}


CATALOGUES = web.AppKey("catalogues", Catalogues)
LOCALE = web.RequestKey("locale", str)  # the page language
FORMAT_LOCALE = web.RequestKey("format_locale", str)  # its variant for dates: "en_GB"
_current: contextvars.ContextVar[Catalogue] = contextvars.ContextVar("podium_catalogue")
_ENGLISH = Catalogue(DEFAULT_LOCALE, gettext_module.NullTranslations())


def load_catalogues(locale_dir: Path = LOCALE_DIR) -> Catalogues:
    """Read every .po file and compile it in memory (no .mo files, no build step)."""
    by_locale = {DEFAULT_LOCALE: _ENGLISH}
    for locale in LANGUAGES:
        path = locale_dir / locale / "LC_MESSAGES" / "messages.po"
        if locale != DEFAULT_LOCALE and path.exists():
            by_locale[locale] = compile_catalogue(path, locale)
    return Catalogues(by_locale)


def compile_catalogue(path: Path, locale: str) -> Catalogue:
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    translations = gettext_module.GNUTranslations(buffer)
    js: dict[str, dict[str, str | list[str]]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        scripts = {
            Path(filename).name
            for filename, _line in message.locations
            if filename.startswith("client_static/js/")
        }
        if not scripts:
            continue
        key = message.id[0] if message.pluralizable else message.id
        value = list(message.string) if message.pluralizable else message.string
        if not value or (isinstance(value, list) and not all(value)):
            continue  # untranslated: the script shows the English
        for script in scripts:
            js.setdefault(script, {})[key] = value
    return Catalogue(locale, translations, catalog.plural_expr, js)


def page_scripts(template: str) -> frozenset[str]:
    """The script files a template (with base.html) loads, following their imports."""
    sources = [(TEMPLATES_DIR / "base.html").read_text(), (TEMPLATES_DIR / template).read_text()]
    todo = [name for source in sources for name in _SCRIPT_SRC.findall(source)]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        path = JS_DIR / name
        if name in found or not path.exists():
            continue
        found.add(name)
        for match in _JS_IMPORT.finditer(path.read_text()):
            todo.append(match.group(1) or match.group(2))
    return frozenset(found)


# --- the reader's language -----------------------------------------------------------------


def parse_accept_language(header: str) -> list[str]:
    """Language tags from an Accept-Language header, most wanted first (q=0 left out)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, index, tag.strip().lower()))
    return [tag for _q, _i, tag in sorted(ranked)]


def format_locale(locale: str, accept_language: str) -> str:
    """The reader's own variant of the page language for dates (en_GB: 24-hour clock)."""
    for tag in parse_accept_language(accept_language):
        if tag.split("-")[0] == locale and "-" in tag:
            try:
                return str(Locale.parse(tag, sep="-"))
            except (ValueError, UnknownLocaleError):
                continue
    return locale


def negotiate(choice: str | None, cookie: str | None, accept_language: str) -> str:
    """?lang= first, then the remembered choice, then the browser's languages, then English."""
    for wanted in (choice, cookie):
        if wanted in LANGUAGES:
            return wanted
    for tag in parse_accept_language(accept_language):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LOCALE


@web.middleware
async def locale_middleware(request: web.Request, handler):
    """Choose the page language; a ?lang= choice is remembered in a cookie."""
    if request.path.startswith(("/api/", "/socket.io", "/static/", "/media/")):
        return await handler(request)
    choice = request.query.get("lang")
    accept_language = request.headers.get("Accept-Language", "")
    locale = negotiate(choice, request.cookies.get(COOKIE), accept_language)
    request[LOCALE] = locale
    request[FORMAT_LOCALE] = format_locale(locale, accept_language)
    token = _current.set(request.app[CATALOGUES].get(locale))
    try:
        response = await handler(request)
    finally:
        _current.reset(token)
    if response.prepared:
        return response
    if choice in LANGUAGES and choice != request.cookies.get(COOKIE):
        response.set_cookie(
            COOKIE, choice, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax", httponly=False
        )
    response.headers.setdefault("Content-Language", locale)
    vary = response.headers.get("Vary")
    if not vary or "accept-language" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
    return response


def current_locale() -> str:
    return _current.get(_ENGLISH).locale


def gettext(message: str, **params: Any) -> str:
    """The message in the current request's language, %(name)s placeholders filled in."""
    text = _current.get(_ENGLISH).translations.gettext(message)
    return text % params if params else text


_ = gettext


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    """Like gettext, choosing the plural form for `n`, which fills %(num)s (as in Jinja2)."""
    text = _current.get(_ENGLISH).translations.ngettext(singular, plural, n)
    return text % {"num": n, **params}


# --- templates -----------------------------------------------------------------------------


def install(environment: jinja2.Environment) -> None:
    """Add Jinja2's i18n extension (new-style gettext) and the localised time filters."""
    environment.add_extension("jinja2.ext.i18n")
    english = gettext_module.NullTranslations()
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        english.gettext, english.ngettext, newstyle=True
    )
    environment.filters["local_time"] = local_time
    environment.filters["local_datetime"] = local_datetime


def template_context(request: web.Request, template: str) -> dict[str, Any]:
    """What every page needs to speak the reader's language, and to offer the others."""
    locale = request.get(LOCALE, DEFAULT_LOCALE)
    catalogues = request.app[CATALOGUES]
    translations = catalogues.get(locale).translations
    languages = [
        {
            "code": code,
            "name": name,
            "url": str(request.rel_url.update_query({"lang": code})),
            "current": code == locale,
        }
        for code, name in LANGUAGES.items()
    ]
    return {
        "locale": locale,
        "format_locale": request.get(FORMAT_LOCALE, locale),
        "languages": languages,
        "js_messages": catalogues.js_messages(locale, template),
        "gettext": _template_gettext(translations.gettext),
        "ngettext": _template_ngettext(translations.ngettext),
    }


def _template_gettext(translate):
    @jinja2.pass_context
    def gettext(context, message: str, **params: Any) -> str:
        text = translate(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # the catalogue is trusted; the parameters are escaped
        return text % params

    return gettext


def _template_ngettext(translate):
    @jinja2.pass_context
    def ngettext(context, singular: str, plural: str, n: int, **params: Any) -> str:
        text = translate(singular, plural, n)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % {"num": n, **params}

    return ngettext


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@jinja2.pass_context
def local_time(context, value: str | datetime, zone: str | None = None) -> str:
    """A time of day in the page's language, in the event's time zone."""
    locale = context.get("format_locale", DEFAULT_LOCALE)
    return format_time(_moment(value), format="short", tzinfo=_zone(zone), locale=locale)


@jinja2.pass_context
def local_datetime(context, value: str | datetime, zone: str | None = None) -> str:
    locale = context.get("format_locale", DEFAULT_LOCALE)
    return format_datetime(_moment(value), format="medium", tzinfo=_zone(zone), locale=locale)
