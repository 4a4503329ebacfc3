"""A dossier's link and action tables against the case's audit rows: they come from the consent_link and outbox
tables, which are not keyed, so each use of a link, each staff decision on an action and each action shown done
must be one the keyed chain recorded (the click's consent.decided, staff.decide's staff.approved or
staff.rejected, the executor's executor.done, with the outcome it recorded: done, or refused by the registrar), and
each action recorded done must show done (twenty-third break round H; twenty-fourth, MEDIUM 7: a deleted row or a
rewritten outcome).
Run at export on the live tables and rows, and by a dossier's verify on the dossier's."""

from __future__ import annotations

from typing import Any

from whmcs_bridge.families.ownership.integrity import instant

DECISIONS = ("staff.approved", "staff.rejected")
DONE = "executor.done"
SHOWN_DONE = ("done", "refused by the registrar")  # dossier.action_rows: a lock the registrar refused ran too


def table_problems(links: Any, actions: Any, rows: list[dict[str, Any]]) -> list[str]:
    """What the link and action tables show that the case's rows do not say, and what the rows say that they
    do not show."""
    rows = [r for r in rows if isinstance(r.get("detail"), dict)]
    links = [x for x in links if isinstance(x, dict)] if isinstance(links, list) else []
    actions = [a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else []
    problems = [p for link in links if (p := link_problem(link, rows))]
    for action in actions:
        problems += action_problems(action, rows)
    listed = {a.get("key") for a in actions}  # a listed action not shown done is named by action_problems
    return problems + [
        f"action {r['detail'].get('key')} ({r['detail'].get('kind')}): the audit chain recorded it done at {r['at']}, "
        "but the action table does not show it done"
        for r in rows
        if r["action"] == DONE and r["detail"].get("key") and r["detail"].get("key") not in listed
    ]


def link_problem(link: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    """A link's use (when, the answer, from where) against the answer the chain recorded through it."""
    answers = [r for r in rows if r["action"] == "consent.decided" and r["detail"].get("link") == link.get("id")]
    named = f"link {link.get('id')} ({link.get('purpose')})"
    if not link.get("used_at"):
        return (
            f"{named} shows no use, but the audit chain recorded an answer through it of {answers[0]['at']}"
            if answers
            else None
        )
    if any(
        instant(r.get("at")) == instant(link.get("used_at"))
        and all((r["detail"].get(k) or "") == (link.get(k) or "") for k in ("decision", "ip", "user_agent"))
        for r in answers
    ):
        return None
    return f"{named} used {link.get('used_at')} ({link.get('decision')}): the audit chain recorded no answer through it then"


def action_problems(action: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """An action's staff decision and its outcome against the rows staff.decide and the executor left."""
    mine = [r for r in rows if r["detail"].get("key") == action.get("key")]
    named = f"action {action.get('key')} ({action.get('kind')})"
    problems = []
    by = action.get("decided_by")
    if by and not any(r["action"] in DECISIONS and r.get("actor") == f"staff:{by}" for r in mine):
        problems.append(f"{named} approved or rejected by {by}: the audit chain recorded no such decision by them")
    done = [r for r in mine if r["action"] == DONE]
    if action.get("status") in SHOWN_DONE:
        if not any(
            instant(r.get("at")) == instant(action.get("finished_at")) and shown_as(r) == action.get("status")
            for r in done
        ):
            problems.append(
                f"{named} {action.get('status')} at {action.get('finished_at')}: the audit chain recorded no such outcome"
            )
    elif done:
        problems.append(f"{named} is {action.get('status')}, but the audit chain recorded it done at {done[-1]['at']}")
    return problems


def shown_as(row: dict[str, Any]) -> str:
    """What the action table shows for an action the executor's row recorded done (dossier.action_rows): refused
    by the registrar when WHMCS answered without doing it (the result's `outcome`), else done."""
    result = row["detail"].get("result")
    outcome = result.get("outcome") if isinstance(result, dict) else None
    return SHOWN_DONE[1] if isinstance(outcome, dict) and outcome.get("refused") else SHOWN_DONE[0]
