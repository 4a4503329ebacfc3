"""The delegation family's messages on the self-service pages (web/selfservice.py), pure: what the owner's and the
delegate's pages say behind the one-time links in every notice and copy, and the footer that carries those links."""

from whmcs_bridge.messages.spec import MessageSpec, define

PAGES = define(
    # --- the self-service pages (web/selfservice.py), behind one-time links in every notice and copy -------
    MessageSpec(
        "delegation.page_footer",
        "page",
        "client",
        {"side": "text", "consent_link": "url", "may_renew": "text"},
        'Under every email to an owner or a delegate (`side` "owner" or "delegate"): the one-time link to its '
        "self-service page (`may_renew`: the grant lets the delegate renew there).",
        samples={"side": "delegate", "may_renew": "yes"},
    ),
    MessageSpec(
        "delegation.page_summary",
        "text",
        "client",
        {"side": "text"},
        "What a self-service link opens (kept with the link, in the email's language).",
        samples={"side": "delegate"},
    ),
    MessageSpec(
        "delegation.page_owner",
        "page",
        "client",
        {"owner": "text", "grants": "number", "expires": "datetime"},
        "The owner's self-service page, above its grants: who has access to what.",
        samples={"owner": "Boulangerie Dupont", "grants": 1, "expires": "2026-12-03T10:00:00+00:00"},
    ),
    MessageSpec(
        "delegation.page_owner_row",
        "page",
        "client",
        {
            "delegate": "text",
            "covers": "text",
            "whole": "text",  # "yes": the grant covers the owner's whole account, said in words, not the owner's name
            "role": "text",
            "since": "date",
            "status": "text",
            "expires": "date",
            "grant": "text",
            "moved": "text",  # the grant's services and domains WHMCS no longer has in the owner's account, by name and id
            "moved_many": "text",  # "yes": more than one
        },
        "One grant on the owner's page: who, on what, since when, until when; a revoke button while active; what of it "
        "WHMCS no longer has in the owner's account (`moved`: staff moved it to another client).",
        samples={
            "delegate": "Pixelwerk Agency",
            "covers": "boulangerie-dupont.fr",
            "role": "technical",
            "since": "2026-11-20",
            "status": "active",
            "expires": "2027-05-31",
            "grant": "g3d169a",
        },
    ),
    MessageSpec(
        "delegation.page_delegate",
        "page",
        "client",
        {"delegate": "text", "services": "number", "expires": "datetime"},
        "The delegate's self-service page, above the services it is contact for.",
        samples={"delegate": "Pixelwerk Agency", "services": 1, "expires": "2026-12-03T10:00:00+00:00"},
    ),
    MessageSpec(
        "delegation.page_delegate_row",
        "page",
        "client",
        {
            "owner": "text",
            "service": "text",
            "id": "text",
            "kind": "text",
            "status": "text",
            "due": "date",
            "grant": "text",
            "may_renew": "text",
            "renewal": "text",
            "invoice": "text",
            "amount": "money",  # in the currency of the delegate's invoice (its renewal's `currency`)
            "pay_link": "url",
            "expired": "text",  # "yes": a domain past its expiry date, saved only by staff, never ordered again
            "moved": "text",  # "yes": WHMCS no longer has it in the owner's account: no status, due date or button
        },
        "One service (or domain: `kind`) on the delegate's page, named by its kind, name and id (a hosting and a domain "
        "of one name are two rows): its owner, status and next due date (as WHMCS has them when the "
        "page is shown; unknown when WHMCS cannot be read), a renew button (none for what WHMCS's status says cannot "
        "be renewed), and the renewal under way with its invoice and WHMCS's pay link; an `expired` domain says to "
        "contact support quickly, not to order it again.",
        samples={
            "owner": "Boulangerie Dupont",
            "service": "boulangerie-dupont.fr",
            "id": "110",
            "status": "Active",
            "due": "2026-12-21",
            "grant": "g3d169a",
            "may_renew": "yes",
            "renewal": "invoiced",
            "invoice": "1043",
            "amount": "14.95",
            "pay_link": "https://billing.example.com/viewinvoice.php?id=1043",
        },
    ),
    MessageSpec(
        "delegation.grant_closed_note",
        "text",
        "staff",
        {"grant": "text", "side": "text", "client": "text", "deleted": "text"},
        'Staff note on the owner\'s account, once per grant and closed client: WHMCS shows the grant\'s `side` ("owner" '
        'or "delegate"), client #`client`, Closed (`deleted` "yes": WHMCS no longer has it), so the grant no longer '
        "copies, verifies or renews.",
        samples={"grant": "g3d169a", "side": "delegate", "client": "10"},
    ),
    MessageSpec(
        "delegation.consent_not_held",
        "page",
        "client",
        {"kind": "text", "id": "text", "reader": "text", "side": "text"},
        'After an acceptance on a consent page: the `kind` ("service" or "domain") #`id` the request names is no '
        'longer the owner\'s in WHMCS, so nothing was activated (`reader`: "owner", or "delegate" confirming; '
        '"password": a former owner\'s password change, not made on a service moved to another client); or `kind` '
        '"client": the account of client #`id`, the grant\'s `side` ("owner" or "delegate"), is Closed in WHMCS; or `kind` '
        '"hold": an ownership case holds what the request covers (`id` names it); or `kind` "expired": the request\'s '
        'last day (`id`) has passed; or (`reader` "unread") WHMCS could not be read, nothing was recorded and the link still works.',
        samples={"kind": "service", "id": "110", "reader": "owner", "side": ""},
    ),
    MessageSpec(
        "delegation.page_done",
        "page",
        "client",
        {"what": "text", "grant": "text", "refused": "text", "alone": "text"},
        'After a click on a self-service page: `what` "revoke" or "renew" was recorded (`alone` "yes": the other side '
        "of an ended access is no longer in WHMCS, so only the reader is emailed); or `refused` (one "
        "sentence, delegation.page_refused in the page's language) says why not.",
        samples={"what": "revoke", "grant": "g3d169a", "refused": ""},
    ),
    MessageSpec(
        "delegation.page_refused",
        "text",
        "client",
        {
            "why": "text",
            "grant": "text",
            "kind": "text",
            "id": "text",
            "n": "text",
            "invoice": "text",
            "status": "text",
            "owner": "text",
            "field": "text",
            "value": "text",
        },
        'Why a click on a self-service page was not done, shown on the page in its language (`why`): "no_action" (the '
        'page offers no such action), "ended" (the access `grant` is no longer active), "owner_only" (only the owner '
        'ends an access), "may_not_renew" (the contact\'s role does not renew), "not_covered" (the access covers no '
        '`kind` #`id`; no `id`: none was named), "open" (renewal `n` of `kind` #`id` is under way: its `invoice`, its '
        '`status` "looking", "invoiced" or "paid"), "moved" (`kind` #`id` is no longer in the account of `owner` in WHMCS), "held" (an '
        'ownership case holds `kind` #`id`: a dispute or the lock after a change of holder), "asked" (the renewal of `kind` #`id` was asked '
        'a moment ago through another page link), "bad_field" (the form sent `field` = `value`, which the page did '
        "not offer: a changed form, refused without using the link).",
        samples={
            "why": "open",
            "grant": "g3d169a",
            "kind": "service",
            "id": "110",
            "n": "1",
            "invoice": "1043",
            "status": "invoiced",
        },
    ),
    MessageSpec(
        "delegation.page_used",
        "page",
        "client",
        {"what": "text", "grant": "text", "used_at": "datetime", "refused": "text"},
        'A self-service link opened again once used: when, and for what (`what` "revoke" or "renew" with its '
        "`grant`), or that the click was refused and why (`refused`, one sentence, delegation.page_refused in the page's "
        "language; in English for a link used before the refusal's case was kept).",
        samples={"what": "renew", "grant": "g3d169a", "used_at": "2026-11-26T10:00:00+00:00", "refused": ""},
    ),
)
