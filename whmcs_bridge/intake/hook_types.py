"""The WHMCS hook points the PHP hook (hooks/whmcs_bridge.php) sends; the receiver accepts no other type.

Staff commands, timer ticks and what the executor reads back reach the engine by their own paths
(the command line, the store), never through /hooks/whmcs: a signed body naming one is refused."""

from __future__ import annotations

HOOK_TYPES: frozenset[str] = frozenset(
    {
        "InvoicePaid",
        "InvoiceUnpaid",
        "InvoiceCreated",
        "InvoiceCancelled",
        "InvoiceRefunded",
        "InvoicePaymentReminder",
        "AddInvoiceLateFee",
        "AddInvoicePayment",
        "AfterModuleSuspend",
        "AfterModuleUnsuspend",
        "AfterModuleTerminate",
        "ClientAdd",
        "ClientEdit",
        "ContactAdd",
        "ContactEdit",
        "UserAdd",
        "AcceptOrder",
        "CancelOrder",
        "FraudOrder",
        "AfterShoppingCartCheckout",
        "TicketOpen",
        "TicketUserReply",
        "TicketAddNote",
        "ServiceEdit",
        "EmailPreLog",
        "DailyCronJob",
        "AfterCronJob",
    }
)
