"""What escalation re-reads from WHMCS when it is enabled later or its rules change: the open overdue invoices."""

from __future__ import annotations

from whmcs_bridge.intake.reread import Facts, Source

OPEN_STATUSES = ("Unpaid", "Collections")


def read(source: Source) -> Facts:
    """Every open invoice past its due date, as the poller reports it (InvoiceOverdue)."""
    for status in OPEN_STATUSES:
        for invoice in source.api.invoices(status=status):
            if invoice.duedate is not None and invoice.duedate < source.today:
                data = {
                    "invoiceid": invoice.id,
                    "userid": invoice.client_id,
                    "duedate": invoice.duedate.isoformat(),
                    "total": str(invoice.total),
                }
                yield f"invoice:{invoice.id}", "InvoiceOverdue", data
