"""Issue 14's acceptance: no customer- or staff-facing text is built in a rule module. Rules plan a
message of the catalogue (`model.message`), and the text is written where it leaves the bridge. This reads
every pure module of every family (the purity test's list) for what would be a text: HTML in a string,
or a literal or f-string given as an email's, ticket's or note's subject, html, message or text."""

from __future__ import annotations

import ast

import pytest

from tests.test_purity import PACKAGE, family_modules

TEXT_KEYS = {"subject", "html", "message", "text", "body"}
HTML = ("<p>", "<p ", "<br", "<ul", "<li", "<h1", "<h2", "<table", "<em>", "<strong>")
RULES = [m for m in family_modules() if not m.endswith(("messages.py", "config.py"))]


def is_reference(node: ast.AST) -> bool:
    """An action's subject ("client:12", f"grant:{id}"): the record it is about, not a text."""
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        head = str(node.values[0].value)
        return head.endswith(":") and head[:-1].replace("_", "").isalpha() and head.islower()
    return False


def is_text(node: ast.AST) -> bool:
    if is_reference(node):
        return False
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and any(c.isalpha() for c in node.value)


def texts_in(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(t in node.value for t in HTML):
            found.append(f"line {node.lineno}: HTML in a string")
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in TEXT_KEYS and is_text(value):
                    found.append(f"line {node.lineno}: a text given as {key.value!r}")
        if isinstance(node, ast.keyword) and node.arg in TEXT_KEYS and is_text(node.value):
            found.append(f"line {node.value.lineno}: a text given as {node.arg}=")
    return found


@pytest.mark.parametrize("module", RULES)
def test_a_rule_module_writes_no_text(module: str):
    found = texts_in((PACKAGE / module).read_text())
    assert found == [], f"{module} writes text a rule should plan as a message: {found}"


def test_the_check_finds_what_rules_used_to_write():
    """What delegation and ownership wrote before the catalogue, and what they write now."""
    before = (
        'owner_text = f"<p>Client #{grant[\'delegate\']} is no longer your contact.</p>"\n'
        'params = {"subject": f"Ownership case {case_id} closed", "text": "Escalation closed"}\n'
        'action(kind="client_note", text=f"STAFF TASK: {subject}")\n'
    )
    assert len(texts_in(before)) == 4
    now = 'params = {"msg": message("delegation.ended_owner", owner=owner)}\nAction(subject=f"grant:{gid}")\n'
    assert texts_in(now) == []
