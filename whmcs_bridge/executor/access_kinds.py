"""The password step (credential_change): ModuleChangePw, then the service's welcome email, which gives the holder
the password WHMCS has now. The bridge makes the password, sends it to WHMCS and keeps it nowhere.

After an interruption WHMCS is read for the welcome email, not for the password (no API shows whether it
changed): the holder's email log since the step began (its newest email id, kept in the row before any call
left) tells whether the email went out.
- The template's email is there (its subject, rendered, in the default language or the holder's): the step ran
  through, since the email follows the password change. Done: a second run would void the password the holder
  just received.
- No email since: it did not go out. Running again (a fresh password, then the email) leaves the holder with
  working credentials, where parking would leave them with none.
- Only other emails since: WHMCS cannot tell (a subject translated or edited meanwhile). Staff are told what the
  log shows and decide.

The welcome email is WHMCS's own template, sent for the service (a product email): SendEmail also sends it to each
contact of the client whose "product emails" preference is ticked (DD:api-reference/addcontact.md
`email_preferences[product]`; GetContacts `productemails`, DD:api-reference/getcontacts.md), and takes no recipient
(DD:api-reference/sendemail.md: `id` is the service's). A template's rendered password cannot go the other way
one_recipient sends a custom email (a ticket in the client's name) without the bridge writing it down. So while
such a contact exists the step changes nothing and is held for staff, naming each contact (twenty-fifth break round,
ownership HIGH 6: the vendor, a contact of the company's account, got the password meant to shut it out).
"""

from __future__ import annotations

import re
import secrets

from whmcs_bridge.executor.call import ActionError, ActionKind, Call, Observed, Params, Result
from whmcs_bridge.executor.owner_reads import holders_address
from whmcs_bridge.whmcs import normalize as n
from whmcs_bridge.whmcs.records import Email

# What the bridge's own emails carry (model.marker of an action key): never a WHMCS template's email.
_BRIDGE_KEY = re.compile(r"\[wb-[0-9a-f]{20}\]")


def _run(c: Call) -> Result:
    skipped = _no_panel(c) if c.params.get("hosting_only") else ""
    if skipped:  # told to the case with the step's end (ownership completion.step_ended): nothing to change
        return {"outcome": {"skipped": skipped}}
    if c.params.get("notify_template"):
        _alone(c)
    c.api.change_password(int(c.params["service_id"]), secrets.token_urlsafe(15))
    if c.params.get("notify_template"):
        c.api.send_email(int(c.params["service_id"]), template=c.params["notify_template"])
    return {}


def _no_panel(c: Call) -> str:
    """Why a whole account's service has no control-panel password to change (`hosting_only`, ownership
    completion.account_access), or "": only an Active or Suspended service on a server has a panel account
    (GetClientsProducts `status`, `serverid`, DD:api-reference/getclientsproducts.md)."""
    service = c.api.service(int(c.params["service_id"]))
    if service is None:
        return f"service #{c.params['service_id']} is not in WHMCS"
    if service.status not in ("Active", "Suspended"):
        return f"service #{service.id} is {service.status}: no control panel to give new access to"
    if not service.serverid:
        return f"service #{service.id} is on no server: no control panel to give new access to"
    return ""


def _holder(c: Call) -> int:
    service = c.api.service(int(c.params["service_id"]))
    if service is None:
        raise ValueError(f"service #{c.params['service_id']} is not in WHMCS")
    return service.client_id


def _alone(c: Call) -> None:
    """Held (ActionError parks it) before the password changes while the welcome email would reach a contact too."""
    holder = _holder(c)
    _not_the_old_holders(c, holder)
    copied = [k for k in c.api.contacts(holder) if k.email_preferences.get("product")]
    if copied:
        who = ", ".join(f"contact #{k.id} ({k.email})" for k in copied)
        raise ActionError(
            f"client #{holder} has {who} receiving its product emails, so WHMCS's welcome email with the new password "
            f"of service #{c.params['service_id']} would reach them too: untick their product emails in WHMCS (or give "
            "the client new access details by hand and reject this action), then approve it"
        )


def _not_the_old_holders(c: Call, holder: int) -> None:
    """Nor while the client's profile email, where WHMCS sends the welcome email (GetClientsDetails `email`,
    DD:api-reference/getclientsdetails.md), is the case's old holder's (`holder_marks`,
    owner_reads.holders_address): the password meant to shut the holder out would reach it (twenty-sixth break round,
    ownership HIGH 4)."""
    email = c.api.client_details(holder).email.strip() if c.params.get("holder_marks") else ""
    why = holders_address(email, c.params.get("holder_marks"))
    if why:
        raise ActionError(
            f"client #{holder}'s WHMCS profile email {email} is {why}, so WHMCS's welcome email with the new password "
            f"of service #{c.params['service_id']} would reach the holder: correct the profile and approve this "
            "action, or reject it"
        )


def _before(c: Call) -> Params:
    """The newest email id in the holder's log before the first try."""
    if "emails_before" in c.params or not c.params.get("notify_template"):
        return c.params
    newest = max((e.id for e in c.api.emails(_holder(c))), default=0)
    return {**c.params, "emails_before": newest}


def _since(c: Call) -> tuple[list[Email], list[Email]]:
    """The holder's emails since the step began, not the bridge's own: (the welcome template's, the others)."""
    holder = _holder(c)
    language = c.api.client_details(holder).language
    subjects = c.api.template_subjects(str(c.params["notify_template"]), language=language)
    since = [e for e in c.api.emails(holder) if e.id > int(c.params["emails_before"])]
    since = [e for e in since if not _BRIDGE_KEY.search(e.message)]
    welcome = [e for e in since if any(n.rendered_from(s, e.subject) for s in subjects)]
    return welcome, [e for e in since if e not in welcome]


def _observe(c: Call) -> Observed:
    if not c.params.get("notify_template") or "emails_before" not in c.params:
        return False  # no email to find (or a step planned before this was read): a fresh password again
    welcome, others = _since(c)
    if welcome:
        return {"email_id": welcome[0].id}
    return None if others else False


def _unknown(c: Call) -> str:
    _, others = _since(c)
    seen = "; ".join(f'"{e.subject}"' for e in others[:5]) + ("; ..." if len(others) > 5 else "")
    return (
        f"interrupted while changing the password of service #{c.params['service_id']} and sending its welcome "
        f"email ({c.params['notify_template']}): the holder's email log shows since then {seen}, none with that "
        "template's subject. Check whether the new password reached the holder: if it did, reject; if not, approve "
        "to set a new password and send the welcome email again"
    )


CREDENTIAL_CHANGE = ActionKind("credential_change", _run, _observe, before=_before, unknown=_unknown)
