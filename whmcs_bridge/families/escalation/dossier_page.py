"""The collections dossier's readable page (collections-dossier.html), from the facts dossier.py gathered:
parties, invoices, payments, notices, measures and staff decisions, in words, dates and amounts with their
currency. Pure: the same facts always give the same page."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from whmcs_bridge import readable

# Invoices that claim nothing (replaced, refunded or gone): listed, never counted in the totals.
NOT_CLAIMS = ("Cancelled", "Refunded", "deleted in WHMCS")


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(readable.safe(str(value)))


def _table(head: list[str], rows: list[list[Any]], css: str = "") -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f"<tr><td colspan={len(head)}>none</td></tr>"
    return f"<table class='{css}'><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _lines(values: list[str]) -> str:
    return "<br>".join(_cell(v) for v in values if v) or "-"


def render_html(data: dict[str, Any], locale: str = "en") -> str:
    """The dossier as a page an agency, a court or staff read: words, dates and amounts with their currency."""
    currency = data["summary"]["currency"]

    def money(amount: Any, cur: str | None = None) -> str:
        return _cell(readable.money(amount, cur or currency, locale)) if amount not in (None, "") else "-"

    creditor, debtor, summary = data["creditor"], data["debtor"], data["summary"]
    name = debtor.get("company") or debtor.get("contact") or f"client #{debtor['whmcs_client_id']}"
    zone = data["timezone"]
    parties = _table(
        ["", "Creditor", "Debtor"],
        [
            ["Name", _cell(creditor.get("name")), _cell(debtor.get("company") or debtor.get("contact"))],
            ["Contact person", "-", _cell(debtor.get("contact"))],
            ["Address", _lines(creditor.get("address") or []), _lines(debtor.get("address") or [])],
            ["Company registration", _cell(creditor.get("registration")), _cell(debtor.get("registration"))],
            ["VAT number", _cell(creditor.get("vat")), _cell(debtor.get("vat"))],
            ["Email", _cell(creditor.get("email")), _cell(debtor.get("email"))],
            ["Phone", _cell(creditor.get("phone")), _cell(debtor.get("phone"))],
            ["WHMCS client number", "-", _cell(debtor.get("whmcs_client_id"))],
        ],
        "parties",
    )
    invoices = _table(
        ["Invoice number", "Issued", "Due", "Status", "Lines", "Total", "Paid", "Balance"],
        [
            [
                _cell(i.get("number") or f"(no number; WHMCS invoice {i['id']})"),
                _cell(i.get("issued")),
                _cell(i.get("due"))
                + (f"<br><small>counted from {_cell(i['counted_from'])}</small>" if i.get("counted_from") else ""),
                _cell(i.get("status"))
                + (f"<br><small>paid {_cell(i['date_paid'][:10])}</small>" if i.get("date_paid") else ""),
                "<br>".join(f"{_cell(x['description'])}: {money(x['amount'], i.get('currency'))}" for x in i["lines"])
                or "-",
                money(i.get("total"), i.get("currency")),
                money(i.get("paid"), i.get("currency")),
                money(i.get("balance"), i.get("currency"))
                if i.get("status") not in NOT_CLAIMS
                else f"{money(i.get('balance'), i.get('currency'))}<br><small>not owed ({_cell(i.get('status'))})</small>",
            ]
            for i in data["invoices"]
        ]
        + [
            [
                "<b>Total</b>",
                "",
                "",
                "",
                "",
                money(summary["invoiced"]),
                money(summary["paid"]),
                money(summary["outstanding"]),
            ]
        ],
        "invoices",
    )
    payments = _table(
        ["Date", "Invoice number", "Amount", "Method", "Reference"],
        [
            [
                _cell(p.get("date")),
                _cell(p.get("invoice_number") or p.get("invoice")),
                money(p["amount"]),
                _cell(p.get("method")),
                _cell(p.get("reference")),
            ]
            for p in data["payments"]
        ],
    )
    parts = [
        f"<h1>Collections dossier: {_cell(name)}</h1>",
        f"<p>Prepared {_cell(when_text(data['generated_at'], zone))} from WHMCS and the records of whmcs-bridge. "
        f"Times are in {_cell(zone)}. Case: {_cell(summary['case'])}.</p>",
        _table(
            ["Total invoiced (cancelled invoices not counted)", "Paid", "Outstanding now"],
            [[money(summary["invoiced"]), money(summary["paid"]), money(summary["outstanding"])]],
            "summary",
        ),
        "<h2>Parties</h2>",
        parties,
        "<h2>Invoices</h2>",
        invoices,
        "<h2>Payments received</h2>",
        payments,
        "<h2>Notices sent to the debtor</h2>",
        *[notice_html(n) for n in data["notices"]],
        "<h2>Measures on the debtor's services and invoices</h2>",
        _table(
            ["Stage", "Measure", "On", "Planned", "Done", "Approved by", "Outcome"],
            [
                [
                    _cell(m["stage"]),
                    _cell(m["what"]),
                    _cell(
                        f"service {m['service']}"
                        if m.get("service")
                        else f"invoice {m['invoice']}"
                        if m.get("invoice")
                        else ""
                    ),
                    _cell(m["planned_at"]),
                    _cell(m["done_at"]),
                    _cell(m["approved_by"] or (f"rejected by {m['rejected_by']}" if m.get("rejected_by") else "")),
                    _cell(m["outcome"]),
                ]
                for m in data["measures"]
            ],
        ),
        "<h2>Stages of the reminder procedure</h2>",
        _table(
            ["Stage", "Reached", "Done", "Staff approval required", "Notes"],
            [
                [
                    _cell(s["stage"]),
                    _cell(s["reached"]),
                    _cell(s["done"]),
                    _cell(s["approval_required"]),
                    _cell(
                        "; ".join(
                            x
                            for x in (
                                f"skipped by {s['skipped_by']}" if s.get("skipped_by") else "",
                                f"rejected by {s['rejected_by']}" if s.get("rejected_by") else "",
                                f"letter delivered {s['letter_delivered']}" if s.get("letter_delivered") else "",
                            )
                            if x
                        )
                    ),
                ]
                for s in data["stages"]
            ],
        ),
        "<h2>Promises to pay</h2>",
        _table(
            ["Made", "Recorded by", "Amount", "Pay by", "Outcome", "Note"],
            [
                [
                    _cell(p["made"]),
                    _cell(p["by"]),
                    money(p["amount"]),
                    _cell(p["until"]),
                    _cell(f"{p['outcome']}" + (f" on {p['on']}" if p.get("on") else "")),
                    _cell(p["note"]),
                ]
                for p in data["promises"]
            ],
        ),
        "<h2>Holds</h2>",
        _table(
            ["Held", "By", "Reason", "Resumed", "Resumed by"],
            [
                [
                    _cell(when_text(h["at"], zone)),
                    _cell(h["by"]),
                    _cell(h["reason"]),
                    _cell(when_text(h.get("resumed_at"), zone)),
                    _cell(h.get("resumed_by")),
                ]
                for h in data["holds"]
            ],
        ),
        "<h2>Staff decisions</h2>",
        _table(
            ["When", "Who", "Decision", "About", "Note"],
            [
                [_cell(d["at"]), _cell(d["who"]), _cell(d["decision"]), _cell(d["about"]), _cell(d["note"])]
                for d in data["staff_decisions"]
            ],
        ),
        "<h2>Integrity</h2><p>This page and collections-dossier.json are sealed in manifest.json (SHA-256 of each "
        "file, a seal over the manifest) and the seal is recorded in the bridge's audit chain. Check the folder with "
        "<code>whmcs-bridge escalations verify-dossier DIR</code>.</p>",
    ]
    style = (
        "body{font-family:sans-serif;max-width:72em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}"
        "th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top;font-size:.9em}"
        "th{background:#f1f1f1}.notice{border:1px solid #bbb;margin:0 0 1em;padding:.5em 1em}"
        ".notice dl{display:grid;grid-template-columns:9em 1fr;margin:0}.notice dt{font-weight:bold}"
        ".text{white-space:pre-wrap;background:#fafafa;border-left:3px solid #ccc;padding:.5em;font-size:.85em}"
    )
    title = f"Collections dossier: {_cell(name)}"
    return f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"


def when_text(instant: str | None, zone: str) -> str | None:
    """An ISO instant as the configured zone's wall clock to the minute (it is already stored with an offset)."""
    if not instant:
        return None
    moment = datetime.fromisoformat(instant)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else instant


def notice_html(n: dict[str, Any]) -> str:
    proof = n.get("proof") or {}
    names = {
        "email_log_id": "WHMCS email log id",
        "ticket_id": "WHMCS ticket id",
        "ticket_number": "ticket number",
        "tracking_number": "tracking number",
        "delivered": "delivered on",
    }
    proof_text = "; ".join(f"{names.get(k, k)} {v}" for k, v in proof.items() if v not in (None, "")) or "-"
    rows = [
        ("Sent", n.get("sent_at")),
        ("Channel", n.get("channel")),
        ("Stage", n.get("stage")),
        ("Recipient", n.get("recipient")),
        ("Subject", n.get("subject")),
        ("Proof", proof_text),
    ]
    if n.get("recorded_by"):
        rows.append(("Recorded by", n["recorded_by"]))
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{_cell(v)}</dd>" for k, v in rows)
    text = f"<div class=text>{_cell(n['text'])}</div>" if n.get("text") else ""
    return f"<div class=notice><dl>{items}</dl>{text}</div>"
