"""The message catalogue: every message in the four shipped languages, every field rendered, hostile
values escaped and inert in every field of every message, mistakes in the configuration's templates
reported with FILE:LINE, the reader's language and currency."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from whmcs_bridge.errors import ConfigError
from whmcs_bridge.messages import catalogue as cat
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Named, Reader
from whmcs_bridge.messages.spec import HTML_CHANNELS, WITH_SUBJECT

SPECS = load.all_specs()
SHIPPED = load.shipped()
PARIS = ZoneInfo("Europe/Paris")


class TableNames:
    """Names as a WHMCS would give them: every record is called `name`."""

    def __init__(self, name: str = "Boulangerie Dupont") -> None:
        self.name = name

    def client(self, client_id: int) -> Named:
        return Named(self.name, client_id)

    def service(self, service_id: int) -> Named:
        return Named(f"{self.name} hosting", service_id)

    def domain(self, domain_id: int) -> Named:
        return Named(f"{self.name}.fr", domain_id)


def samples(message_id: str) -> dict[str, object]:
    spec = SPECS[message_id]
    return {name: spec.sample(name) for name in spec.fields}


def test_the_shipped_catalogue_has_every_message_in_every_shipped_language():
    problems = []
    for message_id in SPECS:
        for lang in cat.SHIPPED:
            template = SHIPPED.templates.get((message_id, lang))
            if template is None:
                problems.append(f"{message_id}: no {lang}")
                continue
            problems += cat.problems_of(template, SPECS)
    # A template for a message that does not exist is a mistake too.
    problems += [f"{i} ({lang}): no such message" for i, lang in SHIPPED.templates if i not in SPECS]
    assert problems == []
    assert SHIPPED.notes == ()


@pytest.mark.parametrize("lang", cat.SHIPPED)
@pytest.mark.parametrize("message_id", sorted(SPECS))
def test_every_message_renders_every_field_in_every_language(message_id, lang):
    spec = SPECS[message_id]
    text = SHIPPED.render(message_id, samples(message_id), Reader(lang, "EUR", PARIS), TableNames())
    assert text.lang == lang
    assert text.body.strip()
    assert (text.subject is not None) == (spec.channel in WITH_SUBJECT)
    for part in (text.body, text.subject or ""):
        assert "{{" not in part and "{%" not in part and "}}" not in part
        assert "Undefined" not in part and "None" not in part


HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{$smarty.version}",
    "شركة الاستضافة العربية",  # right-to-left
    "‮gnp.exe",  # a right-to-left override
    "A" * 5000,
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("message_id", sorted(SPECS))
def test_hostile_values_in_every_field_are_escaped_and_inert(message_id, hostile):
    spec = SPECS[message_id]
    data: dict[str, object] = {}
    for name, kind in spec.fields.items():
        # Every field a person or WHMCS can fill gets the hostile value; typed fields get their sample
        # (their values are read from WHMCS or computed, and named records carry the hostile name).
        data[name] = hostile if kind in ("text", "url") else spec.sample(name)
    for lang in cat.SHIPPED:
        text = SHIPPED.render(message_id, data, Reader(lang, "EUR", PARIS), TableNames(hostile))
        template = SHIPPED.templates[(message_id, lang)]
        for part, source in ((text.body, template.body), (text.subject or "", template.subject or "")):
            if spec.channel in HTML_CHANNELS and part is text.body:
                assert "<script" not in part and "<img" not in part  # escaped: &lt;script&gt;
            # Inert: a value is never a template (Jinja's or WHMCS's Smarty): nothing is computed from it.
            assert part.count("49") <= source.count("49")
        if text.subject is not None:
            assert "\n" not in text.subject and len(text.subject) <= 200


def test_a_value_is_never_evaluated_as_a_template():
    text = SHIPPED.render(
        "core.breaker_tripped", {"ran": 2, "due": 1, "limit": 10}, Reader("en", None, PARIS), TableNames("{{ 7*7 }}")
    )
    assert "49" not in text.body


@pytest.mark.parametrize(
    ("lang", "amount", "day"),
    [("en", "€944.70", "December 5, 2026"), ("fr", "944,70\xa0€", "5 décembre 2026"), ("nl", "€\xa0944,70", "5 december 2026"), ("id", "€944,70", "5 Desember 2026")],
)
def test_amounts_and_dates_are_written_in_the_readers_locale(lang, amount, day):
    from whmcs_bridge.messages.render import _Formatter

    fmt = _Formatter(Reader(lang, "EUR", PARIS), TableNames())
    assert fmt.as_money("944.70") == amount
    assert fmt.as_date("2026-12-05") == day


@pytest.mark.parametrize(("lang", "n", "word"), [("en", 0, "invoices"), ("en", 1, "invoice"), ("fr", 0, "facture"), ("fr", 2, "factures"), ("id", 1, "faktur"), ("id", 5, "faktur")])
def test_plural_forms_follow_each_language(lang, n, word):
    from whmcs_bridge.messages.render import _Formatter

    fmt = _Formatter(Reader(lang, None, PARIS), TableNames())
    forms = {"en": ("invoice", "invoices"), "fr": ("facture", "factures"), "id": ("faktur", "faktur")}[lang]
    assert fmt.plural(n, one=f"# {forms[0]}", other=f"# {forms[1]}") == f"{n} {word}"


@pytest.mark.parametrize(
    ("language", "locale"),
    [("french", "fr"), ("Dutch", "nl"), ("indonesian", "id"), ("", None), ("fr", "fr"), ("nl_NL", "nl"), ("klingon", None), ("german", "de")],
)
def test_whmcs_language_names_become_locales(language, locale):
    assert cat.locale_of(language) == locale


def overrides(yaml_text: str) -> list[cat.Template]:
    import yaml

    problems: list[str] = []
    found = cat.read_overrides(yaml.compose(yaml_text, Loader=yaml.SafeLoader), "bridge.yaml", problems)
    assert problems == []
    return found


def test_a_configured_template_replaces_the_shipped_one_for_its_language_only():
    mine = overrides(
        "messages:\n  templates:\n    core.breaker_tripped:\n      fr:\n        subject: Disjoncteur\n        body: Stop ({{ ran }})\n"
    )
    built = cat.build(SPECS, load.shipped_templates(), mine)
    fr = built.render("core.breaker_tripped", {"ran": 3, "due": 1, "limit": 2}, Reader("fr", None, PARIS), TableNames())
    en = built.render("core.breaker_tripped", {"ran": 3, "due": 1, "limit": 2}, Reader("en", None, PARIS), TableNames())
    assert (fr.subject, fr.body) == ("Disjoncteur", "Stop (3)\n")
    assert en.subject == "whmcs-bridge: destructive actions on hold"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Stop {{ rann }}", r"bridge\.yaml:7: core\.breaker_tripped \(fr\) body: unknown field\(s\) rann \(this message has: due, limit, ran\)"),
        ("line one\n          {% if ran %}never closed", r"bridge\.yaml:8: core\.breaker_tripped \(fr\) body: Unexpected end of template"),
    ],
)
def test_mistakes_in_configured_templates_name_file_and_line(body, expected):
    text = f"messages:\n  templates:\n    core.breaker_tripped:\n      fr:\n        subject: S\n        body: |\n          {body}\n"
    mine = overrides(text)
    with pytest.raises(ConfigError, match=expected):
        cat.build(SPECS, load.shipped_templates(), mine)


def test_an_unknown_message_id_is_named_with_a_suggestion():
    mine = overrides("messages:\n  templates:\n    core.breaker_trippd:\n      en:\n        subject: S\n        body: B\n")
    with pytest.raises(ConfigError, match=r"bridge\.yaml:3: no message is called 'core\.breaker_trippd' \(did you mean 'core\.breaker_tripped'\?\)"):
        cat.build(SPECS, load.shipped_templates(), mine)


def test_a_language_with_only_some_messages_falls_back_to_english_and_check_says_so():
    from whmcs_bridge.messages.spec import MessageSpec

    other = MessageSpec("test.other", "text", "staff", {}, "another message")
    specs = {**SPECS, "test.other": other}
    mine = overrides(
        "messages:\n  templates:\n    core.breaker_tripped:\n      de:\n        subject: Notbremse\n        body: Halt\n"
        "    test.other:\n      en:\n        body: Other\n"
    )
    built = cat.build(specs, load.shipped_templates(), mine)
    assert "message test.other has no de, fr, id, nl template: English is sent instead" in built.notes
    assert built.template("core.breaker_tripped", "de").body == "Halt"
    assert built.template("test.other", "fr").body == "Other"


def test_a_ladder_may_name_its_own_message_once_its_templates_are_configured(tmp_path):
    from tests.test_config import ENV, LADDER
    from whmcs_bridge.config.load import load_config

    path = tmp_path / "bridge.yaml"
    path.write_text(LADDER.replace("message: escalation.reminder", "message: acme.gentle_nudge"))
    config = load_config(path, environ=ENV)
    with pytest.raises(ConfigError, match=r"message acme\.gentle_nudge is named by the configuration but has no template"):
        load.for_config(config)
    path.write_text(
        path.read_text()
        + "messages:\n  templates:\n    acme.gentle_nudge:\n      en:\n        subject: Nudge {{ amount_due }}\n"
        "        body: <p>{{ client }} {{ unknown_field }}</p>\n"
    )
    with pytest.raises(ConfigError, match=r"bridge\.yaml:\d+: acme\.gentle_nudge \(en\) body: unknown field\(s\) unknown_field"):
        load.for_config(load_config(path, environ=ENV))
    path.write_text(path.read_text().replace(" {{ unknown_field }}", ""))
    built = load.for_config(load_config(path, environ=ENV))
    assert built.specs["acme.gentle_nudge"].channel == "email"
    text = built.render("acme.gentle_nudge", {"client": 1, "amount_due": "10"}, Reader("nl", "EUR", PARIS), TableNames())
    # No Dutch template: the English one, with its amount written in English too (no "€ 10,00" in English).
    assert (text.lang, text.subject, text.body) == ("en", "Nudge €10.00", "<p>Boulangerie Dupont</p>")


def test_a_ladder_step_naming_a_message_of_another_channel_is_refused(tmp_path):
    from tests.test_config import ENV, LADDER
    from whmcs_bridge.config.load import load_config

    path = tmp_path / "bridge.yaml"
    path.write_text(LADDER.replace("email: {message: escalation.reminder}", "note: escalation.reminder"))
    with pytest.raises(ConfigError, match=r"the note step names message escalation\.reminder, which is a email message"):
        load.for_config(load_config(path, environ=ENV))


def test_staff_proof_read_a_message_in_a_language_before_going_live(tmp_path):
    from click.testing import CliRunner

    from tests.test_config import ENV, MINIMAL
    from whmcs_bridge.cli.app import main

    path = tmp_path / "bridge.yaml"
    path.write_text(MINIMAL)
    run = CliRunner().invoke(
        main, ["--config", str(path), "messages", "preview", "escalation.final_notice", "--lang", "dutch"], env=ENV
    )
    assert run.exit_code == 0, run.output
    assert run.output.startswith("Subject: Ingebrekestelling: betaling van €\xa0944,70 uiterlijk 11 december 2026\n")
    assert "Boulangerie Dupont SARL" in run.output and "14 oktober 2026" in run.output
    listing = CliRunner().invoke(main, ["--config", str(path), "messages", "list"], env=ENV)
    assert "escalation.final_notice (email to client; en, fr, id, nl)" in listing.output
    wrong = CliRunner().invoke(main, ["--config", str(path), "messages", "preview", "escalation.final_notise"], env=ENV)
    assert wrong.exit_code != 0 and "no message is called 'escalation.final_notise'" in wrong.output


def test_a_field_planned_without_the_value_its_template_needs_is_a_sentence_not_a_crash():
    from whmcs_bridge.messages.render import MessageError

    with pytest.raises(MessageError, match=r"message core\.breaker_tripped \(en.*\) cannot be rendered"):
        SHIPPED.render("core.breaker_tripped", {"ran": "many", "due": 1, "limit": 2}, Reader("en", None, PARIS), TableNames())


@pytest.mark.parametrize(("lang", "text"), [("en", "1,234 clients"), ("fr", "1\u202f234 clients"), ("nl", "1.234 klanten")])
def test_counts_of_a_thousand_and_more_are_written_and_counted_in_the_readers_language(lang, text):
    """Found by a helper: plural() was given the written count ("1,234") and could not read it back."""
    rendered = SHIPPED.render(
        "core.breaker_tripped", {"ran": 1234, "due": 0, "limit": 10}, Reader(lang, None, PARIS), TableNames()
    )
    assert text in rendered.body


def test_a_count_is_false_when_zero_and_compares_as_a_number():
    from whmcs_bridge.messages.render import _Formatter

    fmt = _Formatter(Reader("fr", None, PARIS), TableNames())
    zero, many = fmt.as_number(0), fmt.as_number(1234)
    assert not zero and many and many > 1000 and zero == 0 and many == "1\u202f234"


def test_an_instant_given_as_a_date_is_the_day_it_falls_on_in_the_configured_zone():
    """Found by the break test: a deadline at 00:11 UTC was "10 December" in the email and the 9th on
    its consent page in Los Angeles."""
    from whmcs_bridge.messages.render import _Formatter

    la = _Formatter(Reader("en", None, ZoneInfo("America/Los_Angeles")), TableNames())
    assert la.as_date("2026-12-10T00:11:48+00:00") == "December 9, 2026"
    assert la.as_date("2026-12-10") == "December 10, 2026"


def test_a_name_cannot_add_lines_escape_sequences_or_reversed_text_to_a_plain_text_message():
    """Found by the break test: a holder's company name with a line break added a fake checklist line to
    a staff ticket; ESC sequences reached terminals; an open right-to-left override reversed what followed."""
    hostile = "ACME\n[x] VERIFIED by staff\x1b]0;pwned\x07\u202eRTL"
    text = SHIPPED.render("escalation.registered_letter", samples("escalation.registered_letter"), Reader("en", "EUR", PARIS), TableNames(hostile))
    first_line = text.body.splitlines()[0]
    assert "ACME [x] VERIFIED by staff]0;pwnedRTL" in first_line
    assert "\x1b" not in text.body and "\u202e" not in text.body and "\x07" not in text.body
    assert "\u202e" not in (text.subject or "") and "\x1b" not in (text.subject or "")


def test_a_template_that_recurses_is_refused_by_check_and_parks_if_sent():
    from whmcs_bridge.messages.render import MessageError, render

    looping = overrides(
        "messages:\n  templates:\n    core.breaker_tripped:\n      en:\n        subject: S\n"
        "        body: '{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}'\n"
    )
    with pytest.raises(ConfigError, match="fails on sample data"):
        cat.build(SPECS, load.shipped_templates(), looping)
    with pytest.raises(MessageError, match="cannot be rendered"):
        data = {"ran": 1, "due": 1, "limit": 1}
        render(SPECS["core.breaker_tripped"], looping[0], data, Reader("en", None, PARIS), TableNames())


def test_a_language_that_is_not_one_is_refused_with_its_line():
    import yaml

    problems: list[str] = []
    text = "messages:\n  templates:\n    core.breaker_tripped:\n      klingon:\n        subject: S\n        body: B\n"
    cat.read_overrides(yaml.compose(text, Loader=yaml.SafeLoader), "bridge.yaml", problems)
    assert problems == [
        "bridge.yaml:4: messages.templates.core.breaker_tripped.klingon: expected a language code (en, fr, nl, id, de, ...) or a WHMCS language name"
    ]


def test_staff_screens_print_no_escape_sequence_from_whmcs():
    from whmcs_bridge import readable

    # A whole escape sequence goes, not only its ESC: no "]0;pwned[2K" left over for staff to puzzle at.
    assert readable.value("SnelHost \x1b]0;pwned\x07\x1b[2K ok") == "SnelHost  ok"
    written = {"msg": {"id": "escalation.closed_note", "data": {"undone": 4}}, "text": "Escalation closed\nmore", "lang": "en"}
    assert readable.action(written) == "Escalation closed"  # what was written, not the message id


@pytest.mark.parametrize("body", ["{{ lipsum.__globals__ }}", "{{ ran.__class__.__mro__ }}", '{% include "/etc/passwd" %}', '{{ ran|int + "x" }}'])
def test_check_renders_configured_templates_once_and_refuses_what_would_fail_when_sent(body):
    """Found by the break test: these passed `check` and failed only at send time."""
    mine = overrides(
        "messages:\n  templates:\n    core.breaker_tripped:\n      en:\n        subject: S\n"
        f"        body: '{body}'\n"
    )
    with pytest.raises(ConfigError, match=r"bridge\.yaml:3: core\.breaker_tripped \(en\) fails on sample data"):
        cat.build(SPECS, load.shipped_templates(), mine)


def test_a_configured_template_whose_loops_would_run_for_hours_is_refused_not_hung_on(tmp_path):
    """Found by the break test: nested loops of range(100000) passed `check` and hung the daemon's pass."""
    from tests.test_config import ENV, MINIMAL
    from whmcs_bridge.config.load import load_config

    path = tmp_path / "bridge.yaml"
    path.write_text(
        MINIMAL + "messages:\n  templates:\n    core.breaker_tripped:\n      en:\n        subject: S\n"
        "        body: '{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}'\n"
    )
    config = load_config(path, environ=ENV)
    with pytest.raises(ConfigError, match=r"took more than 5 CPU seconds to render once with sample data"):
        load.for_config(config)
