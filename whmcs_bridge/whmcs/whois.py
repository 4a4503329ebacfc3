"""A domain's new holder written into its WHOIS contact block without losing the fields it had (pure).

DD:api-reference/domainupdatewhoisinfo.md: the `xml` is the whole contact block ("See DomainGetWhoisInfo"),
and its example sends every field (Name, Company, Address1-3, City, State, Zip, Country, Tel_Country_Code,
Telephone); DD:api-reference/domaingetwhoisinfo.md names the same things First_Name, Last_Name,
Organisation_Name, Address_1, Postcode, Phone. Field names are the registrar module's own. So a change
starts from the block WHMCS reads back, puts the holder's details into the fields it recognises under any
of those spellings, keeps every other field as it was, and sends the whole block: a registrar that
replaces the block must not lose the address and phone.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

# A holder's detail -> the spellings registrar modules use for it, compared by letters and digits alone (_plain).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "first", "givenname"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "name": ("name", "fullname", "contactname"),
    "company": ("organisationname", "organizationname", "organisation", "organization", "company", "companyname"),
    "email": ("email", "emailaddress"),
    "address1": ("address1", "address", "street", "street1", "streetaddress"),
    "address2": ("address2", "street2"),
    "address3": ("address3", "street3"),
    "city": ("city", "town"),
    "state": ("state", "region", "province", "stateprovince", "county"),
    "postcode": ("postcode", "zip", "zipcode", "postalcode"),
    "country": ("country", "countrycode"),
    "phone": ("phone", "phonenumber", "telephonenumber", "fullphone"),
    "phone_number": ("telephone", "tel"),
    "phone_cc": ("telcountrycode", "phonecountrycode", "phonecc"),
    "job_title": ("jobtitle", "position"),
    # Other ways to reach or name the previous holder (Enom and OpenSRS style blocks carry them).
    "fax": ("fax", "faxnumber", "facsimile", "telefax"),
    "mobile": ("mobile", "mobilephone", "mobilenumber", "cell", "cellphone", "handphone"),
    "phone_ext": ("phoneext", "phoneextension", "extension", "telext", "telephoneext"),
    "company_number": ("companynumber", "companyregistrationnumber", "registrationnumber", "companyid", "vatnumber"),
    # What identifies the previous holder as a person or taxpayer (registries of .id, .es, .it, .fi... ask for them):
    # also any field whose name holds one of IDENTIFYING (detail_of).
    "identity": ("nik", "ktp", "dob", "ssn", "taxid", "taxnumber", "idnumber", "idcard", "nationalid", "identity"),
}
# Words in a field's name that make it the previous holder's identity whatever the rest says ("Date_of_Birth",
# "ID Card Number", "Passport_No"): emptied for a new holder like PERSONAL's.
IDENTIFYING = ("birth", "identity", "identification", "passport", "nationalid", "idcard", "idnumber", "taxid")
# With no block to start from (the registrar returned none), the spellings of the documented example.
DOCUMENTED = {
    "name": "Name",
    "email": "Email",
    "company": "Company",
    "address1": "Address1",
    "address2": "Address2",
    "city": "City",
    "state": "State",
    "postcode": "Zip",
    "country": "Country",
    "phone_cc": "Tel_Country_Code",
    "phone_number": "Telephone",
}
_BY_SPELLING = {spelling: detail for detail, names in SPELLINGS.items() for spelling in names}
# A holder with an address replaces the whole address: a line it does not have is emptied, never left
# from the previous holder's (a new street with the old postcode is worse than a blank line).
ADDRESS = ("address1", "address2", "address3", "city", "state", "postcode")
# What describes or reaches the previous holder (DD:api-reference/domaingetwhoisinfo.md `Job_Title`; a fax, a
# mobile, an extension, a company's registration number): a new holder who gave none gets it empty, never the
# previous holder's ("Owner" of the vendor's company, the vendor's fax).
PERSONAL = ("job_title", "fax", "mobile", "phone_ext", "company_number", "identity")


def _plain(field_name: str) -> str:
    """A field's name as compared: letters and digits only, without case (`State/Province`: stateprovince)."""
    return re.sub(r"[^0-9a-z]", "", field_name.lower())


def detail_of(field_name: str) -> str | None:
    """Which holder detail a registrar's field carries (`Organisation_Name` -> company), or None."""
    plain = _plain(field_name)
    if plain in _BY_SPELLING:
        return _BY_SPELLING[plain]
    return "identity" if any(word in plain for word in IDENTIFYING) else None


def holder_details(party: dict[str, Any]) -> dict[str, str]:
    """What the bridge knows of the new holder, by detail. An outside company known only by its name and
    email still gets a name: the company's (registrars refuse an empty one), in both name fields."""
    person = str(party.get("name") or "").strip()
    company = str(party.get("company") or "").strip()
    email = str(party.get("email") or "").strip()
    full = person or company or email
    first, _, last = full.partition(" ") if person else (full, "", full)
    details = {
        "name": full,
        "first_name": first,
        "last_name": last.strip() or first,  # a one-word name in both, never an empty last name
        "company": company,
        "email": email,
    }
    for key in ("address1", "address2", "city", "state", "postcode", "country"):
        if party.get(key):
            details[key] = str(party[key])
    details.update(_phone(str(party.get("phone") or ""), str(party.get("phone_cc") or "")))
    return details


def _phone(phone: str, cc: str) -> dict[str, str]:
    """ "+44.1234567890" (or a national number and its calling code) as the one-field form and the two parts
    registrars use (DD:api-reference/domaingetwhoisinfo.md `Phone`; domainupdatewhoisinfo.md
    `Tel_Country_Code`, `Telephone`)."""
    split = re.fullmatch(r"\+(\d+)\.(\d+)", phone.replace(" ", ""))
    cc, number = (split.group(1), split.group(2)) if split else (cc.lstrip("+"), phone)
    if not number:
        return {}
    out = {"phone_number": number, "phone": f"+{cc}.{number}" if cc else number}
    return {**out, "phone_cc": cc} if cc else out


def with_holder(block: dict[str, str], details: dict[str, str]) -> dict[str, str]:
    """The block with the holder's details in every field that carries one; the other fields as they were.
    A detail given as a registrar's own spelling (`First_Name`) counts as that detail."""
    wanted = {k if k in SPELLINGS else (detail_of(k) or k): v for k, v in details.items()}
    if any(wanted.get(line) for line in ADDRESS):
        wanted = {**dict.fromkeys(ADDRESS, ""), **wanted}
    if wanted.get("name") or wanted.get("company"):  # another person or company holds it now
        wanted = {**dict.fromkeys(PERSONAL, ""), **wanted}
    if not block:
        return {DOCUMENTED[d]: v for d, v in wanted.items() if d in DOCUMENTED}
    out = dict(block)
    for field_name in block:
        detail = detail_of(field_name)
        if detail is not None and detail in wanted:
            out[field_name] = wanted[detail]
    return out


def differences(block: dict[str, str], details: dict[str, str]) -> list[tuple[str, str, str]]:
    """The fields of the block that do not carry the holder's details, each as (field, what it shows, what
    the holder's details put there), compared as a registrar would: an email without letter case, a phone
    by its digits (country code included), anything else without case or extra spaces. None: it shows them."""
    wanted = with_holder(block, details)
    return [(k, block.get(k, ""), v) for k, v in wanted.items() if not same(detail_of(k), block.get(k, ""), v)]


def same(detail: str | None, shown: str, expected: str) -> bool:
    """Whether two spellings of a detail say the same thing ("+62 21 5550199" is "+62.215550199")."""
    return _comparable(detail, shown) == _comparable(detail, expected)


def _comparable(detail: str | None, value: str) -> str:
    if detail in ("phone", "phone_number", "phone_cc"):
        return re.sub(r"\D", "", value)
    return " ".join(value.split()).casefold()


def _tag(field_name: str) -> str:
    """An XML element name for a field: registrar fields such as "First Name" travel as First_Name (the
    spelling DomainGetWhoisInfo's example prints); anything else not allowed in a name becomes `_` too."""
    tag = re.sub(r"[^A-Za-z0-9_.\-]", "_", field_name.strip())
    return tag if re.match(r"[A-Za-z_]", tag) else f"_{tag}"


def contacts_xml(contacts: dict[str, dict[str, str]]) -> str:
    """DomainUpdateWhoisInfo's `xml`: every contact block, one element per field, values escaped."""
    blocks = []
    for kind, block in contacts.items():
        fields = "".join(f"<{_tag(name)}>{escape(value)}</{_tag(name)}>" for name, value in block.items())
        blocks.append(f"<{_tag(kind)}>{fields}</{_tag(kind)}>")
    return f"<contactdetails>{''.join(blocks)}</contactdetails>"
