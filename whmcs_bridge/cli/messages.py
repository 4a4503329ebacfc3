"""`whmcs-bridge messages`: the catalogue of what the bridge writes, and a preview of one message in one
language with sample data, so staff can proof-read the wording before going live."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from whmcs_bridge.cli.common import JSON_LIST, JSON_OBJECT, Context, Group, echo_json, user_errors
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.messages.catalogue import locale_of
from whmcs_bridge.messages.render import Named, Reader


class SampleNames:
    """The records a preview names: a client, a service and a domain as WHMCS would name them."""

    def client(self, client_id: int) -> Named:
        return Named("Boulangerie Dupont SARL", client_id)

    def service(self, service_id: int) -> Named:
        return Named("Hosting Pro (boulangerie-dupont.fr)", service_id)

    def domain(self, domain_id: int) -> Named:
        return Named("boulangerie-dupont.fr", domain_id)


@click.group(cls=Group)
def messages() -> None:
    """The messages the bridge writes (emails, tickets, notes, consent pages), by id and language."""


@messages.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def messages_list(obj: Context, as_json: bool) -> None:
    """List every message: its id, where it goes, who reads it, its fields and its languages."""
    catalogue = obj.catalogue
    rows = [
        {
            "id": spec.id,
            "channel": spec.channel,
            "audience": spec.audience,
            "about": spec.about,
            "fields": sorted(spec.fields),
            "languages": sorted(lang for (i, lang) in catalogue.templates if i == spec.id),
        }
        for spec in sorted(catalogue.specs.values(), key=lambda s: s.id)
    ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['id']} ({row['channel']} to {row['audience']}; {', '.join(row['languages'])}): {row['about']}")
        click.echo(f"    fields: {', '.join(row['fields']) or 'none'}")


@messages.command("preview")
@click.argument("message_id")
@click.option("--lang", default="en", show_default=True, help="A language code (en, fr, nl, id) or a WHMCS language name.")
@click.option("--currency", default="EUR", show_default=True, help="The currency of the sample amounts.")
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def messages_preview(obj: Context, message_id: str, lang: str, currency: str, as_json: bool) -> None:
    """Render one message with sample data in one language, as its reader would receive it."""
    catalogue = obj.catalogue
    spec = catalogue.specs.get(message_id)
    if spec is None:
        raise BridgeError(f"no message is called {message_id!r}; `whmcs-bridge messages list` shows them")
    locale = locale_of(lang)
    if locale is None:
        raise BridgeError(f"{lang!r} is not a language: give a code such as fr or a WHMCS language name such as french")
    data = {name: spec.sample(name) for name in spec.fields}
    text = catalogue.render(spec.id, data, Reader(locale, currency, ZoneInfo(obj.config().zone_name)), SampleNames())
    shown = {"id": spec.id, "lang": text.lang, "subject": text.subject, "body": text.body}
    if as_json:
        echo_json(shown)
        return
    if text.lang != locale:
        click.echo(f"(no {locale} template: the English one is sent)")
    if text.subject is not None:
        click.echo(f"Subject: {text.subject}\n")
    click.echo(text.body.rstrip())
