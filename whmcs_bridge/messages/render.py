"""A message's templates -> the text its reader sees (pure): Jinja2 with autoescaping for HTML channels
and a sandbox for every template, Babel for amounts with their currency, dates, lists and plural forms
in the reader's locale. Values are data, never templates: `{{ 7*7 }}` in a company name stays as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from jinja2 import StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from whmcs_bridge.errors import BridgeError, WhmcsUnavailableError
from whmcs_bridge.messages import statuses
from whmcs_bridge.messages.spec import HTML_CHANNELS, MessageSpec

# C0 and C1 controls but tab and newline, and the bidi embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[ \t\r\n\f\v\u2028\u2029\x85]+")
SUBJECT_MAX = 200  # WHMCS keeps a subject in a 255-character column; a long company name must not cut the key


class MessageError(BridgeError):
    """A message that cannot be rendered (a template that fails on the data it was given)."""


class Named(str):
    """A WHMCS record as its reader sees it (its name), with its id for staff templates (`{{ client.id }}`) and,
    in a list of subjects, its kind ("service", "domain" or "client": the `with_kinds` filter)."""

    id: int | str
    kind: str

    def __new__(cls, text: str, record_id: int | str = "", kind: str = "") -> Named:
        made = super().__new__(cls, text)
        made.id = record_id
        made.kind = kind
        return made


class Number(str):
    """A count as its reader writes it ("1 234" in French), that still counts: `{% if copies %}` is false
    for 0, `{{ plural(copies, ...) }}` and comparisons with numbers (`copies > 1`) use its value."""

    value: Decimal

    def __new__(cls, text: str, value: Decimal) -> Number:
        made = super().__new__(cls, text)
        made.value = value
        return made

    def __bool__(self) -> bool:
        return self.value != 0

    def _other(self, other: object) -> Decimal | None:
        if isinstance(other, Number):
            return other.value
        if isinstance(other, int | float | Decimal) and not isinstance(other, bool):
            return Decimal(str(other))
        return None

    def __eq__(self, other: object) -> bool:
        number = self._other(other)
        return self.value == number if number is not None else str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: object) -> bool:
        number = self._other(other)
        return self.value < number if number is not None else str.__lt__(self, str(other))

    def __gt__(self, other: object) -> bool:
        number = self._other(other)
        return self.value > number if number is not None else str.__gt__(self, str(other))

    def __le__(self, other: object) -> bool:
        return self == other or self < other

    def __ge__(self, other: object) -> bool:
        return self == other or self > other

    __hash__ = str.__hash__


class Names(Protocol):
    """Who and what a field names, as WHMCS says now (the executor reads it; tests and previews pass a table)."""

    def client(self, client_id: int) -> Named: ...

    def service(self, service_id: int) -> Named: ...

    def domain(self, domain_id: int) -> Named: ...


@dataclass(frozen=True)
class Reader:
    """Who reads a message: their locale ("fr"), the currency of amounts (the client's), the zone of times."""

    locale: str
    currency: str | None
    zone: tzinfo


@dataclass(frozen=True)
class Template:
    """One message in one language, with where each text was read (FILE:LINE) for error messages."""

    id: str
    lang: str
    body: str
    subject: str | None = None
    where: str = ""
    body_line: int = 0  # the FILE line of the body's first line (0: not from a file)
    subject_line: int = 0


@dataclass(frozen=True)
class Rendered:
    id: str
    lang: str
    body: str
    subject: str | None = None


def environment(html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=html, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["and_list"] = _and_list
    env.filters["or_list"] = _or_list
    env.filters["whmcs_status"] = _whmcs_status
    env.filters["with_kinds"] = _with_kinds
    return env


@pass_context
def _whmcs_status(context: Context, status: Any, gender: str = "m") -> str:
    """WHMCS's status word in the reader's language (`"f"`: agreed with a feminine noun, French's facture)."""
    return statuses.said(status, str(context["lang"]), feminine=gender == "f")


@pass_context
def _and_list(context: Context, values: Iterable[Any]) -> str:
    """ "a, b and c" in the reader's language."""
    return format_list([str(v) for v in values], style="standard", locale=context["lang"])


@pass_context
def _or_list(context: Context, values: Iterable[Any]) -> str:
    return format_list([str(v) for v in values], style="or", locale=context["lang"])


def _with_kinds(values: Iterable[Any], **words: str) -> list[str]:
    """Subjects as staff must tell them apart ("domain #11 boulangerie-dupont.fr" beside the hosting of the same
    name), each kind in the template's words (`subjects|with_kinds(service="service", domain="domaine")`)."""
    out = []
    for value in values:
        kind = getattr(value, "kind", "")
        out.append(f"{words.get(kind, kind)} #{value.id} {value}" if kind else str(value))
    return out


ENVIRONMENTS = {True: environment(True), False: environment(False)}
# Names every template may use beside its message's fields.
GLOBALS = frozenset({"plural", "lang"})


class _Formatter:
    """Turns a typed field into what the reader sees, in their locale."""

    def __init__(self, reader: Reader, names: Names, one_line: bool = False) -> None:
        self.reader = reader
        self.locale = Locale.parse(reader.locale)
        self.names = names
        self.one_line = one_line  # a plain-text channel: a value cannot add lines (a fake checklist item)

    def clean(self, text: str) -> str:
        """A value as it may be inserted: no control characters (terminal escapes, NUL), no bidi overrides
        left open (they would reverse the text after the value), and in plain text no line breaks."""
        text = _CONTROLS.sub("", text)
        return _SPACES.sub(" ", text).strip() if self.one_line else text

    def named(self, record: Named) -> Named:
        return Named(self.clean(str(record)), record.id)

    def value(self, kind: str, raw: Any) -> Any:
        if raw is None:
            return ""
        return getattr(self, f"as_{kind}")(raw)

    def as_text(self, raw: Any) -> str:
        return self.clean(str(raw))

    def as_url(self, raw: Any) -> str:
        return self.clean(str(raw))

    def as_number(self, raw: Any) -> Number:
        value = Decimal(str(raw))
        return Number(format_decimal(value, locale=self.locale), value)

    def as_money(self, raw: Any) -> str:
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            return str(raw)
        if not self.reader.currency:
            return format_decimal(amount, format="#,##0.00", locale=self.locale)
        return format_currency(amount, self.reader.currency, locale=self.locale)

    def as_date(self, raw: Any) -> str:
        """A date, or the day an instant falls on in the configured zone (a deadline at 00:11 UTC is the
        evening before in Los Angeles: the email must say the day its consent page says)."""
        text = str(raw)
        if isinstance(raw, datetime) or (not isinstance(raw, date) and "T" in text):
            moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(text)
            day = moment.astimezone(self.reader.zone).date() if moment.tzinfo else moment.date()
        else:
            day = raw if isinstance(raw, date) else date.fromisoformat(text[:10])
        return format_date(day, format="long", locale=self.locale)

    def as_datetime(self, raw: Any) -> str:
        moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
        return format_datetime(moment, format="medium", tzinfo=self.reader.zone, locale=self.locale)

    def as_client(self, raw: Any) -> Named:
        return self.named(self.names.client(int(raw)))

    def as_service(self, raw: Any) -> Named:
        return self.named(self.names.service(int(raw)))

    def as_domain(self, raw: Any) -> Named:
        return self.named(self.names.domain(int(raw)))

    def as_subjects(self, raw: Any) -> list[Named]:
        out = []
        for item in raw:
            kind, _, number = str(item).partition(":")
            known = kind in ("client", "service", "domain")
            named = getattr(self, f"as_{kind}")(number) if known else Named(self.clean(str(item)))
            out.append(Named(named, named.id, kind if known else ""))
        return out

    def plural(self, n: Any, **forms: str) -> str:
        """The form of `n` in the reader's language (Babel's CLDR rules: French says "1 facture" and
        "0 facture", Indonesian has one form); a `zero` form, when given, says none in words in any language
        ("aucun service", not "un service"); `#` in the form is the number, written in the locale."""
        count = n.value if isinstance(n, Number) else Decimal(str(n))
        form = "zero" if count == 0 and "zero" in forms else self.locale.plural_form(count)
        text = forms.get(form) or forms.get("other") or next(iter(forms.values()), "")
        return text.replace("#", format_decimal(count, locale=self.locale))


def render(spec: MessageSpec, template: Template, data: Mapping[str, Any], reader: Reader, names: Names) -> Rendered:
    """The template filled with the data as the reader sees it; MessageError names the message and language."""
    html = spec.channel in HTML_CHANNELS
    fmt = _Formatter(reader, names, one_line=not html)
    try:
        values: dict[str, Any] = {name: fmt.value(kind, data.get(name)) for name, kind in spec.fields.items()}
        values.update(plural=fmt.plural, lang=reader.locale)
        body = _render_one(template.body, values, html)
        subject = _render_one(template.subject, values, False) if template.subject is not None else None
    except WhmcsUnavailableError:
        # A name the text needs could not be read (WHMCS slow, down, or the daemon stopping): the template is
        # not at fault, and the action is tried again later, never parked as a rule bug.
        raise
    except Exception as exc:  # any failure of an operator's template (recursion, memory too)
        # A template that fails on this data (a field planned without a value it needs, a date that is not
        # one): the action parks with this sentence rather than sending a broken text.
        raise MessageError(
            f"message {spec.id} ({template.lang}{', ' + template.where if template.where else ''}) cannot be "
            f"rendered: {exc}; correct the template (whmcs-bridge messages preview {spec.id} --lang {template.lang})"
        ) from None
    return Rendered(spec.id, template.lang, body.strip() + ("\n" if not html else ""), _one_line(subject))


def _render_one(source: str, values: dict[str, Any], html: bool) -> str:
    return ENVIRONMENTS[html].from_string(source).render(values)


def _one_line(subject: str | None) -> str | None:
    if subject is None:
        return None
    flat = _SPACES.sub(" ", subject).strip()  # one line; a no-break space (Babel's "€ 10") stays
    return flat if len(flat) <= SUBJECT_MAX else flat[: SUBJECT_MAX - 1].rstrip() + "…"
