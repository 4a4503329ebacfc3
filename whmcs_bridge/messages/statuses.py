"""WHMCS's status words (a service's, a domain's, an invoice's) as each shipped language says them (pure): the
catalogue's `whmcs_status` filter; a language or status not listed is said as WHMCS wrote it."""

from __future__ import annotations

# status -> (masculine, feminine) where the language agrees the word with what it describes (French: "le service
# est annulé", "la facture est annulée"); one form where it does not. Services' and domains' statuses:
# DD:api-reference/getclientsproducts.md, getclientsdomains.md; invoices': DD:api-reference/getinvoice.md.
# "Deleted" is the bridge's own word for an item or invoice WHMCS no longer has (executor/reads.py).
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "fr": {
        "Active": ("actif", "active"),
        "Suspended": ("suspendu", "suspendue"),
        "Terminated": ("résilié", "résiliée"),
        "Cancelled": ("annulé", "annulée"),
        "Pending": ("en attente",),
        "Fraud": ("marqué comme fraude", "marquée comme fraude"),
        "Paid": ("payé", "payée"),
        "Unpaid": ("impayé", "impayée"),
        "Payment Pending": ("en attente de paiement",),
        "Collections": ("en recouvrement",),
        "Refunded": ("remboursé", "remboursée"),
        "Expired": ("expiré", "expirée"),
        "Transferred Away": ("transféré chez un autre registrar", "transférée chez un autre registrar"),
        "Grace": ("en période de grâce",),
        "Redemption": ("en période de rédemption",),
        "Deleted": ("supprimé", "supprimée"),
    },
    "nl": {
        "Active": ("actief",),
        "Suspended": ("opgeschort",),
        "Terminated": ("beëindigd",),
        "Cancelled": ("geannuleerd",),
        "Pending": ("in afwachting",),
        "Fraud": ("als fraude gemarkeerd",),
        "Paid": ("betaald",),
        "Unpaid": ("onbetaald",),
        "Payment Pending": ("in afwachting van betaling",),
        "Collections": ("bij incasso",),
        "Refunded": ("terugbetaald",),
        "Expired": ("verlopen",),
        "Transferred Away": ("naar een andere registrar verhuisd",),
        "Grace": ("in de respijtperiode",),
        "Redemption": ("in de herstelperiode",),
        "Deleted": ("verwijderd",),
    },
    "id": {
        "Active": ("aktif",),
        "Suspended": ("ditangguhkan",),
        "Terminated": ("dihentikan",),
        "Cancelled": ("dibatalkan",),
        "Pending": ("tertunda",),
        "Fraud": ("ditandai sebagai penipuan",),
        "Paid": ("lunas",),
        "Unpaid": ("belum dibayar",),
        "Payment Pending": ("pembayaran tertunda",),
        "Collections": ("dalam penagihan",),
        "Refunded": ("dananya dikembalikan",),
        "Expired": ("kedaluwarsa",),
        "Transferred Away": ("ditransfer ke registrar lain",),
        "Grace": ("dalam masa tenggang",),
        "Redemption": ("dalam masa penebusan",),
        "Deleted": ("dihapus",),
    },
}


def said(status: object, lang: str, feminine: bool = False) -> str:
    """The status as `lang` says it (its feminine form when asked and the language has one); as WHMCS wrote it
    for a language or status not listed."""
    raw = str(status)
    forms = WORDS.get(lang.split("_")[0].lower(), {}).get(raw)
    if not forms:
        return raw
    return forms[-1] if feminine else forms[0]
