"""The catalogue: every message's templates per language, the shipped ones (a YAML file per language
beside each family, `catalogue/<lang>.yaml`) with the configuration's `messages.templates` over them, and
the checks `check` runs on them (syntax, unknown fields, unknown ids, missing languages, with FILE:LINE).
Reading files is the caller's business: these functions take the YAML text (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import yaml
from jinja2 import meta
from jinja2.exceptions import TemplateError

from whmcs_bridge.errors import ConfigError
from whmcs_bridge.messages.render import (
    ENVIRONMENTS,
    GLOBALS,
    MessageError,
    Named,
    Names,
    Reader,
    Rendered,
    Template,
    render,
)
from whmcs_bridge.messages.spec import HTML_CHANNELS, WITH_SUBJECT, MessageSpec

# The languages shipped for every message. Others work from the configuration's own templates.
SHIPPED = ("en", "fr", "nl", "id")
FALLBACK = "en"
# WHMCS names a client's language by its language file ("french"); the bridge works with locale codes.
# A name not listed here is read as a locale code if Babel knows one ("pt_BR"), else the default language.
WHMCS_LANGUAGES = {
    "arabic": "ar", "azerbaijani": "az", "catalan": "ca", "chinese": "zh", "croatian": "hr", "czech": "cs",
    "danish": "da", "dutch": "nl", "english": "en", "estonian": "et", "farsi": "fa", "french": "fr",
    "german": "de", "hebrew": "he", "hungarian": "hu", "indonesian": "id", "bahasa": "id", "italian": "it",
    "macedonian": "mk", "norwegian": "nb", "portuguese-br": "pt_BR", "portuguese-pt": "pt_PT",
    "romanian": "ro", "russian": "ru", "spanish": "es", "swedish": "sv", "turkish": "tr", "ukranian": "uk",
    "ukrainian": "uk",
}  # fmt: skip


def locale_of(language: str | None) -> str | None:
    """The locale code of a WHMCS language name or of a code ("French", "fr", "nl_NL" -> "fr", "fr", "nl"),
    or None when it is neither."""
    from babel import Locale, UnknownLocaleError

    name = (language or "").strip().lower()
    if not name:
        return None
    if name in WHMCS_LANGUAGES:
        return WHMCS_LANGUAGES[name]
    try:
        parsed = Locale.parse(name.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    return parsed.language if parsed.language in SHIPPED else str(parsed)


@dataclass(frozen=True)
class Catalogue:
    specs: Mapping[str, MessageSpec]
    templates: Mapping[tuple[str, str], Template]
    default_locale: str = FALLBACK  # WHMCS's default language: a client whose profile names none
    staff_locale: str = FALLBACK
    notes: tuple[str, ...] = field(default=())  # what `check` reports without refusing the configuration

    def template(self, message_id: str, locale: str) -> Template:
        """The message in the locale, else in its language without region, else in English."""
        for candidate in (locale, locale.split("_")[0], FALLBACK):
            found = self.templates.get((message_id, candidate))
            if found is not None:
                return found
        raise ConfigError(f"message {message_id} has no English template; add it under messages.templates")

    def reader_locale(self, audience: str, client_language: str | None) -> str:
        if audience == "staff":
            return self.staff_locale
        return locale_of(client_language) or self.default_locale

    def render(self, message_id: str, data: Mapping[str, Any], reader: Reader, names: Names) -> Rendered:
        spec = self.specs.get(message_id)
        if spec is None:
            raise ConfigError(f"unknown message {message_id!r} (this version has no such message)")
        template = self.template(message_id, reader.locale)
        if template.lang != reader.locale.split("_")[0] and template.lang != reader.locale:
            # English sent for want of the reader's language: its numbers and dates in English too, not
            # "944,70 €" and "11. Dezember" inside an English sentence.
            reader = dataclasses.replace(reader, locale=template.lang)
        return render(spec, template, data, reader, names)

    def languages(self) -> list[str]:
        return sorted({lang for _, lang in self.templates})


# --- reading templates, with where each came from -------------------------------------------------


def _line_of(node: yaml.Node) -> int:
    """The FILE line of a scalar's first line of text (a block scalar's text starts on the next line)."""
    line = node.start_mark.line + 1
    return line + 1 if getattr(node, "style", None) in ("|", ">") else line


def _texts(node: yaml.Node, where: str, problems: list[str]) -> dict[str, tuple[str, int]] | None:
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"{where}: expected a mapping of subject and body, found {type(node).__name__}")
        return None
    out: dict[str, tuple[str, int]] = {}
    for key, value in node.value:
        name = str(key.value)
        if name not in ("subject", "body") or not isinstance(value, yaml.ScalarNode):
            problems.append(f"{where}.{name}: expected subject or body, each a text")
            continue
        out[name] = (str(value.value), _line_of(value))
    return out


def _template(message_id: str, lang: str, texts: dict[str, tuple[str, int]], path: str, line: int) -> Template:
    subject = texts.get("subject")
    body = texts.get("body", ("", 0))
    return Template(
        id=message_id,
        lang=lang,
        body=body[0],
        subject=subject[0] if subject else None,
        where=f"{path}:{line}",
        body_line=body[1],
        subject_line=subject[1] if subject else 0,
    )


def read_language_file(text: str, path: str, lang: str, problems: list[str]) -> list[Template]:
    """A shipped catalogue file: `message.id: {subject: ..., body: ...}` for one language."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        problems.append(f"{path}:1: expected message ids, each with its subject and body")
        return []
    out = []
    for key, value in root.value:
        where = f"{path}:{key.start_mark.line + 1}: {key.value}"
        texts = _texts(value, where, problems)
        if texts is not None:
            out.append(_template(str(key.value), lang, texts, path, key.start_mark.line + 1))
    return out


def read_overrides(root: yaml.Node | None, path: str, problems: list[str]) -> list[Template]:
    """The configuration's `messages.templates`: `message.id: {lang: {subject: ..., body: ...}}`."""
    node = _find(root, ("messages", "templates"))
    if node is None:
        return []
    out = []
    for key, per_lang in node.value if isinstance(node, yaml.MappingNode) else []:
        if not isinstance(per_lang, yaml.MappingNode):
            problems.append(f"{path}:{key.start_mark.line + 1}: messages.templates.{key.value}: expected languages")
            continue
        for lang_key, value in per_lang.value:
            where = f"{path}:{lang_key.start_mark.line + 1}: messages.templates.{key.value}.{lang_key.value}"
            lang = locale_of(str(lang_key.value))
            if lang is None:
                problems.append(f"{where}: expected a language code (en, fr, nl, id, de, ...) or a WHMCS language name")
                continue
            texts = _texts(value, where, problems)
            if texts is not None:
                out.append(_template(str(key.value), lang, texts, path, key.start_mark.line + 1))
    return out


def _find(node: yaml.Node | None, keys: tuple[str, ...]) -> yaml.Node | None:
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if str(k.value) == key), None)
    return node


# --- checks -------------------------------------------------------------------------------------


def problems_of(template: Template, specs: Mapping[str, MessageSpec]) -> list[str]:
    """What is wrong with one template: unknown message, missing subject or body, syntax, unknown fields."""
    path = template.where.rpartition(":")[0] or template.where
    spec = specs.get(template.id)
    if spec is None:
        return [f"{template.where}: no message is called {template.id!r} ({_close(template.id, specs)})"]
    found: list[str] = []
    parts = [("body", template.body, template.body_line)]
    if spec.channel in WITH_SUBJECT:
        if template.subject is None:
            found.append(f"{template.where}: {template.id} ({template.lang}): a {spec.channel} needs a subject")
        else:
            parts.append(("subject", template.subject, template.subject_line))
    elif template.subject is not None:
        found.append(f"{path}:{template.subject_line}: {template.id} ({template.lang}): a {spec.channel} has no subject")
    for part, source, line in parts:
        html = spec.channel in HTML_CHANNELS and part == "body"
        try:
            parsed = ENVIRONMENTS[html].parse(source)
            # Compiled too: an unknown filter ("{{ deadline | date }}") is only found then, and raised at send time.
            ENVIRONMENTS[html].compile(parsed)
        except TemplateError as exc:
            lineno = getattr(exc, "lineno", None) or 1
            found.append(f"{path}:{line + lineno - 1}: {template.id} ({template.lang}) {part}: {exc.message}")
            continue
        unknown = sorted(meta.find_undeclared_variables(parsed) - set(spec.fields) - GLOBALS)
        if unknown:
            known = ", ".join(sorted(spec.fields)) or "none"
            found.append(
                f"{path}:{line}: {template.id} ({template.lang}) {part}: unknown field(s) {', '.join(unknown)} "
                f"(this message has: {known})"
            )
    return found


class _Samples:
    """The records a trial render names."""

    def client(self, client_id: int) -> Named:
        return Named("Sample Client Ltd", client_id)

    def service(self, service_id: int) -> Named:
        return Named("Hosting (example.com)", service_id)

    def domain(self, domain_id: int) -> Named:
        return Named("example.com", domain_id)


def _trial(template: Template, spec: MessageSpec) -> list[str]:
    """A configured template rendered once with sample data: what would fail at send time (a filter on
    the wrong type, Python internals the sandbox refuses, an include) is found by `check`, not by a client."""
    data = {name: spec.sample(name) for name in spec.fields}
    try:
        render(spec, template, data, Reader(template.lang, "EUR", UTC), _Samples())
    except MessageError as exc:
        return [f"{template.where}: {template.id} ({template.lang}) fails on sample data: {exc}"]
    return []


def _close(message_id: str, specs: Mapping[str, MessageSpec]) -> str:
    import difflib

    close = difflib.get_close_matches(message_id, list(specs), n=1)
    return f"did you mean {close[0]!r}?" if close else "see `whmcs-bridge messages list`"


def build(
    specs: Mapping[str, MessageSpec],
    shipped: list[Template],
    overrides: list[Template],
    *,
    default_locale: str = FALLBACK,
    staff_locale: str = FALLBACK,
) -> Catalogue:
    """The catalogue, or ConfigError listing every problem of the configuration's templates (the shipped
    ones are checked by the tests). Languages missing for a message are notes (English is used)."""
    errors = [p for t in overrides for p in problems_of(t, specs)]
    errors = errors or [p for t in overrides for p in _trial(t, specs[t.id])]
    if errors:
        head = f"{len(errors)} problem(s) in the message templates:\n  " if len(errors) > 1 else ""
        raise ConfigError(head + "\n  ".join(errors))
    templates = {(t.id, t.lang): t for t in shipped}
    templates.update({(t.id, t.lang): t for t in overrides})
    wanted = sorted({default_locale, staff_locale, *SHIPPED, *(lang for _, lang in templates)})
    notes = []
    for message_id in sorted(specs):
        missing = [lang for lang in wanted if (message_id, lang) not in templates]
        if (message_id, FALLBACK) not in templates:
            raise ConfigError(
                f"message {message_id} is named by the configuration but has no template: add it under "
                f"messages.templates.{message_id}, with at least `en` (English is every language's fallback)"
            )
        if missing:
            notes.append(f"message {message_id} has no {', '.join(missing)} template: English is sent instead")
    return Catalogue(specs, templates, default_locale, staff_locale, tuple(notes))
