"""Named WHMCS worlds modelled on the hosting providers' stories, all dates relative to the sandbox clock."""

from __future__ import annotations

import calendar
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from whmcs_bridge.sandbox.catalogue import products
from whmcs_bridge.sandbox.documents import text_pdf
from whmcs_bridge.sandbox.scale import scale
from whmcs_bridge.sandbox.state import SandboxState

NAMES = ("empty", "reseller-overdue", "agency", "vendor-dispute", "scale")



class World:
    """Helpers that write WHMCS-shaped rows with consistent links (client -> owner user, invoices -> items)."""

    def __init__(self, sb: SandboxState) -> None:
        self.sb = sb
        self.today = sb.today()
        self.stamp = sb.stamp()

    def day(self, offset: int) -> str:
        return (self.today + timedelta(days=offset)).isoformat()

    def client(
        self,
        cid: int,
        first: str,
        last: str,
        email: str,
        company: str = "",
        *,
        groupid: int = 0,
        country: str = "NL",
        created: int = -900,
        fields: dict[int, str] | None = None,
        language: str = "",
        address: dict[str, str] | None = None,
    ) -> int:
        uid = self.sb.insert(
            "users", firstname=first, lastname=last, email=email, datecreated=self.day(created) + " 10:00:00"
        )
        self.sb.insert(
            "clients",
            id=cid,
            uuid=str(uuid.UUID(int=cid)),
            firstname=first,
            lastname=last,
            companyname=company,
            email=email,
            country=country,
            groupid=groupid,
            datecreated=self.day(created),
            owner_user_id=uid,
            language=language,
            **(address or {}),
        )
        self.sb.insert("user_clients", user_id=uid, client_id=cid, is_owner=1)
        for field_id, value in (fields or {}).items():
            self.sb.insert("client_customfields", client_id=cid, field_id=field_id, value=value)
        return uid

    def link_user(self, user_id: int, client_id: int) -> None:
        self.sb.insert("user_clients", user_id=user_id, client_id=client_id, is_owner=0)

    def service(
        self,
        sid: int,
        cid: int,
        pid: int,
        domain: str,
        amount: str,
        *,
        due: int = 20,
        status: str = "Active",
        fields: dict[str, str] | None = None,
        order_id: int = 0,
        regdate: int = -700,
    ) -> int:
        self.sb.insert(
            "services",
            id=sid,
            client_id=cid,
            order_id=order_id,
            pid=pid,
            regdate=self.day(regdate),
            domain=domain,
            status=status,
            nextduedate=self.day(due),
            firstpaymentamount=amount,
            recurringamount=amount,
            username=domain.split(".")[0][:8] if domain else f"user{sid}",
            password="s3cr3t-" + str(sid),
        )
        for i, (name, value) in enumerate((fields or {}).items(), start=1):
            self.sb.insert("service_customfields", service_id=sid, field_id=i, name=name, value=value)
        return sid

    def domain(
        self, did: int, cid: int, name: str, *, registrant: dict[str, str] | None = None, order_id: int = 0
    ) -> int:
        whois = {"Registrant": registrant} if registrant else {}
        self.sb.insert(
            "domains",
            id=did,
            client_id=cid,
            order_id=order_id,
            domainname=name,
            regdate=self.day(-500),
            expirydate=self.day(230),
            nextduedate=self.day(230),
            whois=json.dumps(whois),
        )
        return did

    def invoice(
        self,
        cid: int,
        due: int,
        lines: list[tuple[str, int, str, str]],
        *,
        status: str = "Unpaid",
        paid_days_after_due: int = 0,
    ) -> int:
        total = sum((Decimal(amount) for _, _, _, amount in lines), Decimal("0"))
        created = self.day(due - 7)
        datepaid = "0000-00-00 00:00:00"
        if status == "Paid":
            datepaid = self.day(due + paid_days_after_due) + " 09:30:00"
        iid = self.sb.insert(
            "invoices",
            client_id=cid,
            date=created,
            duedate=self.day(due),
            datepaid=datepaid,
            subtotal=f"{total:.2f}",
            total=f"{total:.2f}",
            status=status,
            created_at=created + " 00:05:00",
            updated_at=created + " 00:05:00",
        )
        for kind, relid, description, amount in lines:
            self.sb.insert(
                "invoice_items", invoice_id=iid, type=kind, relid=relid, description=description, amount=amount
            )
        if status == "Paid":
            self.sb.insert(
                "transactions",
                invoice_id=iid,
                client_id=cid,
                gateway="banktransfer",
                transid=f"BANK-{iid:06d}",
                date=datepaid,
                amountin=f"{total:.2f}",
            )
        return iid

    def email(self, cid: int, subject: str, message: str, days_ago: int) -> int:
        client = self.sb.one("SELECT * FROM clients WHERE id = ?", [cid])
        to = f"{client['firstname']} {client['lastname']} <{client['email']}>" if client else ""
        return self.sb.insert(
            "emails",
            client_id=cid,
            subject=subject,
            message=message,
            date=self.day(-days_ago) + " 08:00:00",
            to_addr=to,
        )

    def ticket(
        self,
        tid: int,
        cid: int,
        subject: str,
        message: str,
        *,
        user_id: int = 0,
        service: str = "",
        days_ago: int = 1,
        deptid: int = 1,
    ) -> int:
        # Written at 14:12 that day, or a minute ago for a ticket of today seeded earlier in the day: WHMCS never
        # lists a ticket dated after its own clock.
        written = datetime.combine(self.today - timedelta(days=days_ago), time(14, 12))
        stamp = min(written, self.sb.now() - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
        self.sb.insert(
            "tickets",
            id=tid,
            tid=str(480000 + tid * 37),
            c=f"c{tid:07d}",
            deptid=deptid,
            client_id=cid,
            requestor_user_id=user_id,
            subject=subject,
            date=stamp,
            lastreply=stamp,
            service=service,
        )
        self.sb.insert(
            "ticket_replies", ticket_id=tid, client_id=cid, requestor_user_id=user_id, date=stamp, message=message
        )
        return tid

    def monthly_lines(self, service_id: int, product: str, amount: str, due: int) -> list[tuple[str, int, str, str]]:
        # WHMCS names the period a line bills: from the due date to the day before the next one.
        start = self.today + timedelta(days=due)
        year, month = start.year + start.month // 12, start.month % 12 + 1
        end = date(year, month, min(start.day, calendar.monthrange(year, month)[1])) - timedelta(days=1)
        return [("Hosting", service_id, f"{product} ({start:%d/%m/%Y} - {end:%d/%m/%Y})", amount)]


def _paying_clients(w: World, first_id: int, count: int) -> None:
    """Ordinary clients who pay on time: paid history, one open invoice not yet due."""
    people = [
        ("Sanne", "de Vries", "sanne@devries-fotografie.nl", "De Vries Fotografie"),
        ("Pieter", "Jansen", "pieter@jansen-advies.nl", "Jansen Advies"),
        ("Anouk", "Bakker", "anouk@bakkerij-bakker.nl", "Bakkerij Bakker"),
        ("Joost", "Visser", "joost@vissersport.nl", ""),
        ("Femke", "Smit", "femke@smit-design.nl", "Smit Design"),
    ]
    for i in range(count):
        first, last, email, company = people[i % len(people)]
        cid = first_id + i
        w.client(cid, first, last, email if i < len(people) else f"client{cid}@example.net", company)
        sid = w.service(cid * 10, cid, 3 + i % 2, email.split("@")[1], "9.95" if i % 2 == 0 else "19.95", due=12)
        for month in range(4, 0, -1):
            w.invoice(
                cid,
                -30 * month + 12,
                w.monthly_lines(sid, "Starter", "9.95", -30 * month + 12),
                status="Paid",
                paid_days_after_due=-2,
            )
        w.invoice(cid, 12, w.monthly_lines(sid, "Starter", "9.95", 12))
        if i == 3:  # staff suspended this one by hand, for a reason that has nothing to do with money
            sb_update_service(w, sid, status="Suspended", suspensionreason="Abuse: outgoing spam (ticket #480111)")


def sb_update_service(w: World, sid: int, **values: str) -> None:
    w.sb.update("services", sid, **values)
    w.sb.log(
        f"Module Suspend Successful - Service ID: {sid}",
        w.sb.scalar("SELECT client_id FROM services WHERE id = ?", [sid]),
        username="admin",
    )


def reseller_overdue(sb: SandboxState) -> dict[str, Any]:
    """Seed 001: a reseller with 104 domains, 88 users and 4 sub-resellers downstream, 11 unpaid invoices."""
    w = World(sb)
    products(sb)
    cid = 1
    w.client(
        cid,
        "Hans",
        "Mulder",
        "hans@snelhost.nl",
        "SnelHost V.O.F.",
        groupid=2,
        created=-1400,
        fields={1: "KvK 61234567"},
        language="dutch",  # the seed's reseller writes Dutch; WHMCS keeps a client's language by its file name
        # Its legal identity as WHMCS holds it (GetClientsDetails: address, `tax_id`), for the dossier.
        address={
            "address1": "Oudegracht 142",
            "city": "Utrecht",
            "postcode": "3511 AZ",
            "phonenumber": "302345678",
            "tax_id": "NL859123456B01",
        },
    )
    reseller = w.service(
        101,
        cid,
        1,
        "snelhost.nl",
        "49.95",
        due=-155,
        fields={"Hosted domains": "64", "Hosted users": "52", "Sub-resellers": "4"},
        regdate=-1300,
    )
    dedicated = w.service(
        102,
        cid,
        2,
        "srv1.snelhost.nl",
        "129.00",
        due=-150,
        fields={"Hosted domains": "40", "Hosted users": "36", "Sub-resellers": "0"},
        regdate=-900,
    )
    # Six monthly reseller invoices (oldest ~155 days overdue) and five for the server: 11 unpaid.
    for month in range(6):
        due = -155 + 30 * month
        w.invoice(cid, due, w.monthly_lines(reseller, "Reseller Pro", "49.95", due))
    for month in range(5):
        due = -150 + 30 * month
        w.invoice(cid, due, w.monthly_lines(dedicated, "Dedicated E-2236", "129.00", due))
    for month in range(6, 0, -1):
        due = -155 - 30 * month
        w.invoice(
            cid, due, w.monthly_lines(reseller, "Reseller Pro", "49.95", due), status="Paid", paid_days_after_due=3
        )
    w.email(cid, "First Invoice Overdue Notice", "<p>Your invoice is overdue.</p>", 150)
    w.email(cid, "Second Invoice Overdue Notice", "<p>Your invoice is now 2 weeks overdue.</p>", 140)
    w.email(cid, "Third Invoice Overdue Notice", "<p>Your invoice is now 3 weeks overdue.</p>", 130)
    for days_ago, text in (
        (150, "First Invoice Overdue Notice"),
        (140, "Second Invoice Overdue Notice"),
        (130, "Third Invoice Overdue Notice"),
    ):
        sb.insert(
            "activity",
            client_id=cid,
            date=w.day(-days_ago) + " 09:00:03",
            description=f"Cron Job: Sending {text} to Hans Mulder (Invoice ID: 1)",
            username="System",
        )
    # This WHMCS numbers its invoices (Sequential Invoice Numbering: GetInvoice's `invoicenum`, distinct
    # from the id, DD:api-reference/getinvoice.md).
    for row in sb.all("SELECT id, date FROM invoices WHERE client_id = ?", [cid]):
        sb.update("invoices", row["id"], invoicenum=f"{row['date'][:4]}-{1000 + row['id']}")
    _paying_clients(w, 2, 5)
    return {"reseller_client_id": cid, "services": [reseller, dedicated]}


def agency(sb: SandboxState) -> dict[str, Any]:
    """Seed 002: a web agency acting for three end clients who own their services."""
    w = World(sb)
    products(sb)
    agency_user = w.client(10, "Lena", "Vogel", "lena@pixelwerk.agency", "Pixelwerk Agency", created=-1000)
    ends = [
        (11, "Marie", "Dupont", "marie@boulangerie-dupont.fr", "Boulangerie Dupont", "boulangerie-dupont.fr"),
        (12, "Claire", "Martin", "claire@cabinet-martin.fr", "Cabinet Martin Avocats", "cabinet-martin.fr"),
        (13, "Luc", "Leroy", "luc@garage-leroy.fr", "Garage Leroy", "garage-leroy.fr"),
    ]
    out: dict[str, Any] = {"agency_client_id": 10, "agency_user_id": agency_user, "end_clients": []}
    for cid, first, last, email, company, domain in ends:
        w.client(cid, first, last, email, company, country="FR", created=-600)
        sid = w.service(cid * 10, cid, 4, domain, "14.95", due=25)
        did = w.domain(
            cid,
            cid,
            domain,
            registrant={
                "First_Name": first,
                "Last_Name": last,
                "Organisation_Name": company,
                "Email": email,
                "Country": "FR",
            },
        )
        w.invoice(cid, -5, w.monthly_lines(sid, "Business", "14.95", -5), status="Paid")
        w.invoice(cid, 25, w.monthly_lines(sid, "Business", "14.95", 25))
        w.email(
            cid, "New Account Information", f"<p>Your hosting for {domain} is ready. Username: {domain[:8]}</p>", 590
        )
        out["end_clients"].append({"client_id": cid, "service_id": sid, "domain_id": did, "domain": domain})
    # The bakery's accountant receives its invoices, not its general emails. (With general emails ticked, the
    # owner's one-time links would go to the owner alone as tickets: executor/one_recipient.py; tests add such a
    # contact where they check that path.)
    sb.insert(
        "contacts",
        client_id=11,
        firstname="Paul",
        lastname="Dupont",
        email="compta@boulangerie-dupont.fr",
        country="FR",
        invoiceemails=1,
        generalemails=0,
        created_at=w.stamp,
        updated_at=w.stamp,
    )
    # The agency's user is an authorised (non-owner) user on client 12 and placed an order for it.
    w.link_user(agency_user, 12)
    new_sid = w.service(121, 12, 3, "martin-notaires.fr", "9.95", due=30, order_id=1, regdate=-1)
    new_did = w.domain(
        121,
        12,
        "martin-notaires.fr",
        order_id=1,
        registrant={
            "First_Name": "Claire",
            "Last_Name": "Martin",
            "Organisation_Name": "Cabinet Martin Avocats",
            "Email": "claire@cabinet-martin.fr",
            "Country": "FR",
        },
    )
    invoice = w.invoice(
        12,
        0,
        w.monthly_lines(new_sid, "Starter", "9.95", 0)
        + [("DomainRegister", new_did, "Domain Registration - martin-notaires.fr - 1 Year", "11.95")],
    )
    sb.insert(
        "orders",
        id=1,
        ordernum="7264919934",
        client_id=12,
        requestor_id=agency_user,
        date=w.day(-1) + " 11:04:00",
        amount="21.90",
        invoice_id=invoice,
        status="Pending",
    )
    sb.insert("order_lines", order_id=1, type="product", relid=new_sid, amount="9.95", billingcycle="Monthly")
    sb.insert("order_lines", order_id=1, type="domain", relid=new_did, amount="11.95", billingcycle="1 Year(s)")
    # Tickets from the agency's own account about an end client's service.
    w.ticket(
        1,
        10,
        "cPanel password for boulangerie-dupont.fr",
        "Hello, please reset the cPanel password of boulangerie-dupont.fr, we manage this site for our client. Lena",
        user_id=agency_user,
        days_ago=1,
    )
    w.ticket(
        2,
        10,
        "SSL expired on garage-leroy.fr",
        "The certificate on garage-leroy.fr expired this morning, can you check AutoSSL?",
        user_id=agency_user,
        days_ago=0,
    )
    out["order_id"] = 1
    return out


LETTER = text_pdf(
    [
        "PT Maju Makmur - letterhead",
        "Jakarta, 2026. PT Maju Makmur, owner of the brand Maju Makmur, asks that the domain",
        "majumakmur.co.id and its hosting be placed in its own client account.",
        "Signed: Siti Rahmawati, Director (authorised representative)",
    ]
)


def vendor_dispute(sb: SandboxState) -> dict[str, Any]:
    """Seed 000: a vendor holds a company's branded domain and hosting; the company asks for control."""
    w = World(sb)
    products(sb)
    w.client(20, "Budi", "Santoso", "budi@kreatifstudio.id", "Kreatif Studio", country="ID", created=-1500)
    sid = w.service(201, 20, 4, "majumakmur.co.id", "150000.00", due=40)
    # Registrar modules name contact fields their own way: this one as DomainGetWhoisInfo's example does...
    did = w.domain(
        20,
        20,
        "majumakmur.co.id",
        registrant={
            "First_Name": "Budi",
            "Last_Name": "Santoso",
            "Organisation_Name": "Kreatif Studio",
            "Job_Title": "Owner",
            "Email": "budi@kreatifstudio.id",
            "Address_1": "Jl. Braga 12",
            "Address_2": "Lantai 2",
            "City": "Bandung",
            "State": "Jawa Barat",
            "Postcode": "40111",
            "Country": "ID",
            "Phone": "+62.224201234",
        },
    )
    # ...and this one as DomainUpdateWhoisInfo's example does.
    w.domain(
        21,
        20,
        "kreatifstudio.id",
        registrant={
            "Name": "Budi Santoso",
            "Email": "budi@kreatifstudio.id",
            "Company": "Kreatif Studio",
            "Address1": "Jl. Braga 12",
            "Address2": "Lantai 2",
            "Address3": "",
            "City": "Bandung",
            "State": "Jawa Barat",
            "Zip": "40111",
            "Country": "ID",
            "Tel_Country_Code": "62",
            "Telephone": "224201234",
        },
    )
    for month in range(3):
        due = -80 + 30 * month
        w.invoice(20, due, w.monthly_lines(sid, "Business", "150000.00", due), status="Paid")
    company_user = w.client(
        21, "Siti", "Rahmawati", "siti.rahmawati@majumakmur.co.id", "PT Maju Makmur", country="ID", created=-3
    )
    sb.update("clients", 21, address1="Jl. Jenderal Sudirman 45", city="Jakarta", state="DKI Jakarta", postcode="10210")
    sb.update("clients", 21, phonenumber="215550199")
    w.ticket(
        1,
        21,
        "Full access to majumakmur.co.id",
        "Dear support, PT Maju Makmur is the owner of the brand and the domain majumakmur.co.id. Our former vendor "
        "Kreatif Studio registered it. Please give us full control of the domain and the hosting. Regards, Siti Rahmawati, "
        "Director",
        user_id=company_user,
        days_ago=0,
    )
    # The company's letter on its letterhead, attached to the ticket (GetTicketAttachment).
    sb.insert("ticket_attachments", ticket_id=1, idx=0, filename="surat-kuasa-majumakmur.pdf", data=LETTER)
    # Another of the vendor's customers: where a slip in the admin area can send the company's domain.
    w.client(22, "Dewi", "Lestari", "dewi@tokosejahtera.id", "Toko Sejahtera", country="ID", created=-700)
    return {"vendor_client_id": 20, "company_client_id": 21, "service_id": sid, "domain_id": did, "ticket_id": 1}


LOADERS: dict[str, Callable[..., dict[str, Any]]] = {
    "reseller-overdue": reseller_overdue,
    "agency": agency,
    "vendor-dispute": vendor_dispute,
}


def load(sb: SandboxState, name: str, *, clients: int | None = None) -> dict[str, Any]:
    """Replace the sandbox's data with a named scenario; return a summary of what was created."""
    if name not in NAMES:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(NAMES)}")
    with sb.lock:
        sb.reset()
        sb.db.execute("BEGIN")
        try:
            if name == "empty":
                summary: dict[str, Any] = {}
            elif name == "scale":
                summary = scale(sb, clients or 100_000)
            else:
                summary = LOADERS[name](sb)
            sb.db.execute("COMMIT")
        except BaseException:
            sb.db.execute("ROLLBACK")
            raise
        sb.scenario = name
    return {"scenario": name, "today": sb.today().isoformat(), **summary}
