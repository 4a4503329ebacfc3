"""Where a planned message becomes text: just before its action runs, in its reader's language (the
client's WHMCS profile, or staff's), naming clients, services and domains as WHMCS names them now.

The rendered text is kept in the action's row before WHMCS is called, so a retry or a reconciliation
after a crash looks for, and sends, the very text of the first try. A consent link is made later, at the
call, and goes in where the text says `{consent_link}`: no link is ever stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from whmcs_bridge.errors import ConfigError, WhmcsApiError, WhmcsUnavailableError
from whmcs_bridge.executor.one_recipient import PAGE_LINK_END, PAGE_LINK_START
from whmcs_bridge.executor.reads import live_facts
from whmcs_bridge.messages.catalogue import Catalogue
from whmcs_bridge.messages.render import Named, Reader, Rendered
from whmcs_bridge.whmcs.api import SYSTEM_NAME, WhmcsApi, not_found

CONSENT_LINK = "{consent_link}"
# Which params of each action kind carry a message's subject and body.
KIND_FIELDS: dict[str, tuple[str | None, str]] = {
    "email": ("subject", "html"),
    "ticket": ("subject", "message"),
    "ticket_note": (None, "message"),
    "ticket_reply": (None, "message"),
    "client_note": (None, "text"),
    "activity": (None, "text"),
}


@dataclass
class WhmcsNames:
    """Names as WHMCS gives them now, read once per action; a record that is gone keeps the name the message
    kept for it (`kept`, "client:10" -> "Pixelwerk Agency": a client staff deleted), else its number."""

    api: WhmcsApi
    seen: dict[tuple[str, int], Named] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)

    def client(self, client_id: int) -> Named:
        return self._named("client", client_id, self._client)

    def service(self, service_id: int) -> Named:
        return self._named("service", service_id, self._service)

    def domain(self, domain_id: int) -> Named:
        return self._named("domain", domain_id, self._domain)

    def _named(self, kind: str, record_id: int, read: Any) -> Named:
        if (kind, record_id) not in self.seen:
            try:
                text = read(record_id)
            except WhmcsApiError as exc:
                if not not_found(exc):  # a failed read is not a deleted record: try the action again later
                    raise WhmcsUnavailableError(f"naming {kind} {record_id}", str(exc), 1, sent=False) from None
                text = None
            text = text or self.kept.get(f"{kind}:{record_id}")
            self.seen[(kind, record_id)] = Named(text or f"{kind} #{record_id}", record_id)
        return self.seen[(kind, record_id)]

    def _client(self, client_id: int) -> str:
        details = self.api.client_details(client_id)
        return details.companyname or f"{details.firstname} {details.lastname}".strip()

    def _service(self, service_id: int) -> str | None:
        service = self.api.service(service_id)
        if service is None:
            return None
        return f"{service.name} ({service.domain})" if service.domain else service.name

    def _domain(self, domain_id: int) -> str | None:
        domain = next(self.api.domains(domain_id=domain_id), None)
        return domain.domainname if domain else None


@dataclass(frozen=True)
class Texts:
    catalogue: Catalogue
    zone: tzinfo

    def rendered(self, api: WhmcsApi, kind: str, params: dict[str, Any], client_id: int | None) -> dict[str, Any]:
        """The params with their texts written out in the reader's language: an invoice's lines and notes, or
        the message in the kind's fields; params without one, or already rendered, are returned as they are."""
        if kind == "create_invoice":
            return self.invoice(api, params, client_id)
        return self.message(api, kind, params, client_id)

    def message(self, api: WhmcsApi, kind: str, params: dict[str, Any], client_id: int | None) -> dict[str, Any]:
        """The params with the message's text in the kind's fields (and the consent page's summary in the
        same language)."""
        planned = params.get("msg")
        if not planned or params.get("lang"):
            return params
        spec = self.catalogue.specs.get(planned["id"])
        if spec is None or kind not in KIND_FIELDS:
            raise ConfigError(f"a {kind} action asks for message {planned['id']!r}, which this version has not")
        # A ticket to an outside party says client_id None: nobody's profile. Staff read their language, and
        # amounts are still in the currency of the client the action is about.
        reader_id = params.get("client_id", client_id)
        reader = self.reader(api, spec.audience, reader_id or (client_id if spec.audience == "staff" else None))
        names = WhmcsNames(api, kept=dict(planned.get("names") or {}))
        data = {**planned.get("data", {}), "consent_link": CONSENT_LINK}
        if planned.get("live"):  # the amount owed as WHMCS says now, not when the notice was planned
            data.update(live_facts(api, planned["live"]))
        text = self.catalogue.render(spec.id, data, reader, names)
        subject_field, body_field = KIND_FIELDS[kind]
        body = text.body
        if text.subject and not subject_field:  # a ticket's message kept as a note: its subject heads it
            body = f"{text.subject}\n{body}"
        out = {**params, body_field: body, "lang": text.lang}
        if kind == "email":
            copy = "original_html" in out  # a delegate's copy: the store keeps only its hash once it ended
            out["html"] = self.email_html(params, text.body, reader, names)
            out.pop("original_html", None)
            if copy:
                out["copy_of_email"] = True  # (outbox.at_rest)
        if subject_field:
            out[subject_field] = text.subject or ""
        if kind == "ticket" and (out.get("client_id") or out.get("name") not in (None, SYSTEM_NAME)):
            # WHMCS shows a ticket opened for a client as the client's own: its first line says it is ours.
            out["preface"] = self.catalogue.render("core.opened_for_client", {}, reader, names).body.strip()
        consent = params.get("consent")
        if consent and isinstance(consent.get("summary"), dict):
            summary = consent["summary"]
            made = self.catalogue.render(summary["id"], summary.get("data", {}), reader, names)
            out["consent"] = {**consent, "summary": made.body.strip(), "lang": made.lang}
        return out

    def invoice(self, api: WhmcsApi, params: dict[str, Any], client_id: int | None) -> dict[str, Any]:
        """An invoice whose lines or notes are planned messages, each rendered in its client's language (one line
        each), the notes after their `reference`; an invoice written out already is returned as it is."""
        lines, notes = params.get("lines") or [], params.get("notes")
        planned = [line[0] for line in lines if isinstance(line[0], dict)] + ([notes] if isinstance(notes, dict) else [])
        if not planned or params.get("lang"):
            return params
        reader = self.reader(api, "client", params.get("client_id", client_id))
        names = WhmcsNames(api)

        langs: list[str] = []

        def made(text: Any) -> str:
            if not isinstance(text, dict):
                return str(text)
            done = self.catalogue.render(text["id"], text.get("data", {}), reader, names)
            langs.append(done.lang)
            return done.body.strip()

        out = {**params, "lines": [[made(line[0]), *line[1:]] for line in lines]}  # amount, and taxed if given
        if isinstance(notes, dict):
            said = made(notes)
            out["notes"] = f"{params['reference']}: {said}" if params.get("reference") else said
        out["lang"] = langs[0]
        return out

    def email_html(self, params: dict[str, Any], body: str, reader: Reader, names: WhmcsNames) -> str:
        """An email's HTML: the message, its `footer` message if it has one (a self-service link), then for a
        delegate's copy the email as WHMCS sent it (not ours to render)."""
        footer = params.get("footer")
        if footer:
            data = {**footer.get("data", {}), "consent_link": CONSENT_LINK}
            rendered = self.catalogue.render(footer["id"], data, reader, names).body
            body += f"{PAGE_LINK_START}{rendered}{PAGE_LINK_END}"  # cut out where contacts get it (one_recipient)
        return body + str(params.get("original_html", ""))

    def for_staff(self, api: WhmcsApi, message_id: str, **data: Any) -> Rendered:
        """A message to staff, rendered now (e.g. the breaker's ticket, opened outside the outbox)."""
        spec = self.catalogue.specs[message_id]
        return self.catalogue.render(spec.id, data, self.reader(api, "staff", None), WhmcsNames(api))

    def reader(self, api: WhmcsApi, audience: str, client_id: Any) -> Reader:
        """Staff read the staff language; a client the language of its profile (WHMCS's default when it
        names none). Amounts are in the client's currency (GetClientsDetails: currency_code)."""
        language = currency = None
        if client_id:
            try:
                details = api.client_details(int(client_id))
                language, currency = details.language, details.currency_code or None
            except WhmcsApiError as exc:
                if not not_found(exc):  # never a text in the wrong language because one read failed
                    raise WhmcsUnavailableError(
                        f"reading client {client_id}'s language", str(exc), 1, sent=False
                    ) from None
                # the client is gone: the default language, amounts without a currency
        return Reader(self.catalogue.reader_locale(audience, language), currency, self.zone)
