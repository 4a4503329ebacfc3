"""SendEmail as WHMCS documents it (api-reference/sendemail.md): the subject and message go through Smarty,
so a brace that opens no variable fails with "Sending Failed"; `{$var}` comes from `customvars`. And the
bridge's own emails (a delegate's copy of a logged email, CSS and all) get through it intact."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import EXAMPLES, Sandbox, make_client
from whmcs_bridge.whmcs.api import WhmcsApi, php_serialize_strings

SENDING_FAILED = "Sending Failed. Please see documentation."
LOGGED_EMAIL = json.loads((EXAMPLES / "GetEmails.json").read_text())["emails"]["email"][0]["message"]


def custom(sandbox: Sandbox, message: str, subject: str = "Notice", **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = sandbox.post(
        "SendEmail", id=1, customtype="general", customsubject=subject, custommessage=message, **extra
    ).json()
    return answer


@pytest.fixture
def box(sandbox: Sandbox) -> Sandbox:
    sandbox.load("reseller-overdue")
    return sandbox


@pytest.mark.parametrize(
    "message",
    [
        "<style>body { color: red }</style><p>Hello</p>",  # CSS: not a variable
        "<style>h1{line-height:100%}</style><p>Hello</p>",
        "<p>Dear {$client_name</p>",  # never closed
        "<p>{if $x}maybe{/if}</p>",  # a tag the sandbox does not know: stricter than Smarty, on purpose
        "<p>{* a comment never closed</p>",
        LOGGED_EMAIL,  # a logged email resent as is, the mistake the bridge used to make
    ],
)
def test_braces_that_open_no_variable_fail_sending(box: Sandbox, message: str):
    before = len(box.rows("emails", client_id=1))
    assert custom(box, message) == {"result": "error", "message": SENDING_FAILED}
    assert len(box.rows("emails", client_id=1)) == before  # nothing sent, nothing logged


def test_the_subject_is_a_template_too(box: Sandbox):
    assert custom(box, "<p>x</p>", subject="Your {plan} renewal") == {"result": "error", "message": SENDING_FAILED}


def test_variables_come_from_customvars_serialized_or_as_an_array(box: Sandbox):
    serialized = php_serialize_strings({"ref": "ABC", "body": "<p>é {not a tag}</p>"})
    assert (
        custom(
            box, "{$body}<p>{literal}a { b }{/literal} {ldelim}x{rdelim}</p>", subject="N {$ref}", customvars=serialized
        )["result"]
        == "success"
    )
    assert custom(box, "<p>{$who}</p>", subject="Array", **{"customvars[who]": "Hans"})["result"] == "success"
    emails = {e["subject"]: e["message"] for e in box.rows("emails", client_id=1)}
    assert "<p>é {not a tag}</p><p>a { b } {x}</p>" in emails["N ABC"]  # a variable's value is not parsed again
    assert "<p>Hans</p>" in emails["Array"]


@pytest.mark.parametrize("customvars", ["not base64!", base64.b64encode(b'a:1:{s:3:"ref";s:9:"truncated').decode()])
def test_customvars_that_are_not_a_serialized_array_are_refused(box: Sandbox, customvars: str):
    answer = custom(box, "<p>{$ref}</p>", customvars=customvars)
    assert answer == {"result": "error", "message": "The custom variables you provided are invalid."}


def test_a_message_empty_after_processing_fails(box: Sandbox):
    assert custom(box, "{$nothing}") == {"result": "error", "message": SENDING_FAILED}


def test_the_bridge_resends_a_logged_email_intact(box: Sandbox):
    """WhmcsApi.send_email with the getemails.md example (a full HTML email with its CSS) as the body."""
    api = WhmcsApi(make_client(box.api_url))
    api.send_email(1, custom_type="general", subject="[Copy] Five {great} years", html=LOGGED_EMAIL)
    [sent] = [e for e in box.rows("emails", client_id=1) if e["subject"] == "[Copy] Five {great} years"]
    assert LOGGED_EMAIL in sent["message"]
    [call] = [c for c in box.calls() if c["action"] == "SendEmail"]
    assert "{" not in call["params"]["custommessage"].replace("{$", "")  # only variables in the message


def test_a_body_that_looks_like_smarty_is_copied_as_text(box: Sandbox):
    """An owner's email quoting template syntax (a support answer about email templates, say) is text
    for the copy: even `{/literal}`, `{*` or the bridge's own variable name are not parsed again."""
    tricky = "<p>{/literal}{$wb_message}{literal}{* not a comment {ldelim} {$client_name} {if $x}</p>"
    api = WhmcsApi(make_client(box.api_url))
    api.send_email(1, custom_type="general", subject="[Copy] {$client_name} {literal}", html=tricky)
    [sent] = [e for e in box.rows("emails", client_id=1) if e["subject"] == "[Copy] {$client_name} {literal}"]
    assert tricky in sent["message"]
