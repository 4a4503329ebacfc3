"""Configuration: the example passes; every kind of mistake names file, line and key path."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import WEBHOOK_SECRET
from whmcs_bridge.config.load import load_config, parse_config
from whmcs_bridge.config.reader import Duration, Secret
from whmcs_bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "WHMCS_API_IDENTIFIER": "ident",
    "WHMCS_API_SECRET": "s3cret",
    "WHMCS_BRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
}

MINIMAL = """\
whmcs:
  url: https://billing.example.com/
  identifier: ${WHMCS_API_IDENTIFIER}
  secret: ${WHMCS_API_SECRET}
receiver:
  secret: ${WHMCS_BRIDGE_WEBHOOK_SECRET}
state:
  path: state.db
"""


def parse(text: str, env: dict[str, str] | None = None):
    return parse_config(text, Path("/etc/whmcs-bridge/bridge.yaml"), ENV if env is None else env)


def test_example_config_is_valid_and_complete():
    config = load_config(ROOT / "config.example.yaml", environ=ENV)
    assert config.whmcs.api_url == "https://billing.example.com/includes/api.php"
    assert config.whmcs.secret.reveal() == "s3cret"
    assert config.receiver.port == 8787
    assert config.poll.every == timedelta(minutes=5)


def test_minimal_config_gets_defaults_and_resolves_relative_paths():
    config = parse(MINIMAL)
    assert config.whmcs.timeout_s == 20.0
    assert config.whmcs.verify_tls is True
    assert config.receiver.listen == "127.0.0.1:8787"
    assert config.state.path == Path("/etc/whmcs-bridge/state.db")
    assert config.delegation.roles["technical"].support_authority is True


def test_secrets_are_never_in_repr():
    config = parse(MINIMAL)
    assert "s3cret" not in repr(config)
    assert "s3cret" not in str(config.whmcs.secret)
    assert isinstance(config.whmcs.secret, Secret)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            MINIMAL.replace("  secret: ${WHMCS_API_SECRET}", "  secert: ${WHMCS_API_SECRET}"),
            4,
            "whmcs.secert: expected one of url, identifier, secret",
        ),
        (
            MINIMAL.replace("secret: ${WHMCS_API_SECRET}", "secret: ${WHMCS_API_SECRET}\n  timeout_s: soon"),
            5,
            "whmcs.timeout_s: expected a number, found 'soon'",
        ),
        (
            MINIMAL.replace("secret: ${WHMCS_API_SECRET}", "secret: ${WHMCS_API_SECRET}\n  retry_first: 0s"),
            5,
            "whmcs.retry_first: expected a duration greater than 0 (e.g. 30s, 5m), found '0s'",
        ),
        (
            MINIMAL + "poll:\n  every: 5 minutes\n",
            10,
            "poll.every: expected a duration with its unit, such as 30s, 5m, 1h or 2d, found '5 minutes'",
        ),
        (MINIMAL + "poll:\n  enabled: maybe\n", 10, "poll.enabled: expected true or false, found 'maybe'"),
        (
            MINIMAL.replace("https://billing.example.com/", "billing.example.com"),
            2,
            "whmcs.url: expected an http:// or https:// URL",
        ),
        (
            MINIMAL.replace("state:\n  path: state.db\n", ""),
            1,
            "state: expected this key (it is required), found it missing",
        ),
        (MINIMAL + "logging:\n  format: xml\n", 10, "logging.format: expected one of 'text', 'json', found 'xml'"),
        (
            MINIMAL + "delegation:\n  roles:\n    technical:\n      copy_emails: [product, invoices]\n",
            12,
            "delegation.roles.technical.copy_emails[1]: expected one of",
        ),
        (
            MINIMAL + "delegation:\n  email_templates:\n    Bienvenue VPS:\n      type: product\n",
            12,
            "delegation.email_templates.Bienvenue VPS.secret: expected this key (it is required), found it missing",
        ),
        (
            MINIMAL
            + "delegation:\n  email_templates:\n    Bienvenue VPS:\n      type: product\n      secret: password\n",
            13,
            "delegation.email_templates.Bienvenue VPS.secret: expected one of 'none', 'service-access', 'free-text', 'takeover'",
        ),
        (
            MINIMAL.replace("${WHMCS_API_SECRET}", "plain-text-secret"),
            4,
            "whmcs.secret: expected a ${VARIABLE} reference to an environment variable (secrets never live in the YAML), found a literal value",
        ),
        (MINIMAL.replace("  path: state.db", "  path: [a, b]"), 8, "state.path: expected a file path, found a list"),
        (MINIMAL + "whmcs: {}\n", 9, "whmcs: expected each key once, found it repeated"),
        (MINIMAL.replace("receiver:\n", "receiver:\n  listen: localhost\n"), 6, "receiver.listen: expected HOST:PORT"),
        # Staff are compared without case (issue 17): alice and Alice would be one person twice.
        (
            MINIMAL + "staff: [alice, Alice]\n",
            9,
            "staff: expected each member of staff once (names are compared without case)",
        ),
        (
            MINIMAL + "ownership:\n  staff:\n    - bob\n    - BOB\n",
            11,
            "ownership.staff: expected each member of staff once",
        ),
        (MINIMAL + "staff: [' alice']\n", 9, "staff: expected names without surrounding spaces"),
        # The seventeenth round's LOWs: the name said twice is named; an empty request word (it would match every
        # ticket), a department 0 and a response window of 270 years are refused, each at its line.
        (MINIMAL + "staff: [alice, bob, Alice]\n", 9, "compared without case), found 'Alice' twice"),
        # Eighteenth round MEDIUM 3: names a reader cannot tell apart (a Cyrillic "а", a zero-width space).
        (MINIMAL + "staff: [alice, \"\u0430lice\"]\n", 9, "staff: expected names in one alphabet each"),
        (MINIMAL + "staff: [\"bob\u200b\", bob]\n", 9, "staff: expected names without invisible characters"),
        # Twentieth round L10: Turkish dotted capital I folds to "i" plus a mark: "ALİCE" is alice.
        (MINIMAL + "staff: [alice, \"AL\u0130CE\"]\n", 9, "staff: expected each member of staff once"),
        (MINIMAL + "ownership:\n  request_words: [transfer, '']\n", 10, "ownership.request_words[1]: expected a word"),
        (MINIMAL + "ownership:\n  department_id: 0\n", 10, "ownership.department_id: expected a number greater than 0"),
        (
            MINIMAL + "ownership:\n  policies:\n    p:\n      subjects: [domain]\n      window: 100000d\n",
            13,
            "ownership.policies.p.window: expected a duration of at most 10 years (3650d), found '100000d'",
        ),
        (MINIMAL + "poll:\n  every: 99999999999w\n", 10, "poll.every: expected a duration of at most 10 years"),
        # A bare number is refused with the unit it lacks, not read as seconds (issue 16, eleventh round F3).
        (
            MINIMAL + "delegation:\n  default_expiry: 90\n",
            10,
            "delegation.default_expiry: expected a duration with its unit, such as 30s, 5m, 1h or 2d, found '90'",
        ),
        # Template mistakes the bridge used to settle silently (issue 16, eleventh round F7): one template in two
        # lists of a role, a WHMCS default given another type than WHMCS's, a template without a name.
        (
            MINIMAL + "delegation:\n  roles:\n    technical:\n      templates:\n        copy: [Invoice Payment Reminder]\n"
            "        never: [Invoice Payment Reminder]\n",
            14,
            "delegation.roles.technical.templates.never[0]: expected each template in one list of a role "
            "(Invoice Payment Reminder is also under copy)",
        ),
        (
            MINIMAL + "delegation:\n  email_templates:\n    Invoice Payment Reminder:\n      type: product\n"
            "      secret: none\n",
            12,
            "delegation.email_templates.Invoice Payment Reminder.type: expected 'invoice' (the type of WHMCS's "
            "default template 'Invoice Payment Reminder'), found 'product'",
        ),
        (
            MINIMAL + "delegation:\n  email_templates:\n    ' ':\n      type: product\n      secret: none\n",
            11,
            "delegation.email_templates: expected names that are not empty and have no surrounding spaces, found ' '",
        ),
        # A link valid for no time, a grant that ends when it starts, a window of nothing: refused.
        (MINIMAL + "delegation:\n  consent_link_ttl: 0s\n", 10, "delegation.consent_link_ttl: expected a duration greater than 0"),
        (MINIMAL + "delegation:\n  default_expiry: 0\n", 10, "delegation.default_expiry: expected a duration greater than 0"),
        (MINIMAL + "ownership:\n  confirm_link_ttl: 0m\n", 10, "ownership.confirm_link_ttl: expected a duration greater than 0"),
        (
            MINIMAL + "ownership:\n  policies:\n    vendor:\n      subjects: [domain]\n    vendor:\n"
            "      subjects: [service]\n",
            13,
            "ownership.policies.vendor: expected each name once, found it repeated",
        ),
    ],
)
def test_mistakes_name_file_line_and_key(text: str, line: int, message: str):
    with pytest.raises(ConfigError) as caught:
        parse(text)
    text_out = str(caught.value)
    assert text_out.startswith(f"/etc/whmcs-bridge/bridge.yaml:{line}: "), text_out
    assert message in text_out


def test_missing_secret_variable_is_named():
    env = {k: v for k, v in ENV.items() if k != "WHMCS_API_SECRET"}
    with pytest.raises(
        ConfigError, match=r"bridge.yaml:4: whmcs.secret: expected environment variable WHMCS_API_SECRET to be set"
    ):
        parse(MINIMAL, env)


def test_bad_webhook_secret_format():
    with pytest.raises(ConfigError, match=r":6: receiver.secret: expected a Standard Webhooks secret"):
        parse(MINIMAL, {**ENV, "WHMCS_BRIDGE_WEBHOOK_SECRET": "hunter2"})


def test_previous_webhook_secrets_for_rotation():
    env = {**ENV, "OLD_SECRET": WEBHOOK_SECRET.replace("MDEy", "OTk5")}
    config = parse(MINIMAL.replace("receiver:\n", "receiver:\n  previous_secrets:\n    - ${OLD_SECRET}\n"), env)
    assert config.receiver.all_secrets == [WEBHOOK_SECRET, env["OLD_SECRET"]]
    with pytest.raises(ConfigError, match=r":7: receiver.previous_secrets\[0\]: expected a Standard Webhooks secret"):
        parse(
            MINIMAL.replace("receiver:\n", "receiver:\n  previous_secrets:\n    - ${OLD_SECRET}\n"),
            {**env, "OLD_SECRET": "nope"},
        )


def test_example_ladder_is_the_seed_001_story():
    config = load_config(ROOT / "config.example.yaml", environ=ENV)
    policy = config.escalation.policies[0]
    assert [stage.name for stage in policy.ladder] == [
        "reminder",
        "second-reminder",
        "final-notice",
        "panel-lock",
        "sites-off",
        "mail-off",
        "grace-then-terminate",
        "collections",
    ]
    assert policy.ladder[2].deadline_days == 5 and policy.ladder[2].business_days
    assert [a.kind for a in policy.ladder[2].actions] == ["email", "ticket", "staff_task"]
    command = policy.ladder[3].actions[0].module_command
    assert command is not None and command.inverse == "unlock_reseller_panel"
    assert policy.impact.custom_fields == ["Hosted domains", "Hosted users", "Sub-resellers"]
    assert str(config.escalation.holidays[0]) == "2026-12-25"


LADDER = (
    MINIMAL
    + """escalation:
  policies:
    - name: p
      match: {product_ids: [1]}
      ladder:
        - name: reminder
          after_days: 3
          counted_from: due
          actions:
            - email: {message: escalation.reminder}
"""
)


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (
            (
                "email: {message: escalation.reminder}",
                "email: {message: escalation.reminder}\n              note: escalation.reminder_note",
            ),
            18,
            "escalation.policies[0].ladder[0].actions[0]: expected exactly one of email, ticket",
        ),
        (
            ("email: {message: escalation.reminder}", "email: {template_type: invoice}"),
            18,
            "escalation.policies[0].ladder[0].actions[0].email: expected either `message` (a message id) or `template`",
        ),
        (
            ("counted_from: due", "counted_from: previous"),
            11,
            "escalation.policies[0]: expected a first stage counted from the due date",
        ),
        (
            ("escalation:\n", "escalation:\n  holidays: [christmas]\n"),
            10,
            "escalation.holidays[0]: expected a date such as 2026-12-25, found 'christmas'",
        ),
        (
            ("escalation:\n", "escalation:\n  guards: {destructive_hours: '17:00-09:00'}\n"),
            10,
            "escalation.guards.destructive_hours: expected a time range whose start is before its end",
        ),
        (
            ("escalation:\n", "escalation:\n  guards: {destructive_days: [monday]}\n"),
            10,
            "escalation.guards.destructive_days[0]: expected one of 'mon'",
        ),
    ],
)
def test_ladder_mistakes(change: tuple[str, str], line: int, message: str):
    with pytest.raises(ConfigError) as caught:
        parse(LADDER.replace(*change))
    assert f"bridge.yaml:{line}: {message}" in str(caught.value), str(caught.value)


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(ConfigError, match=r"did you mean 'timeout_s'\?"):
        parse(MINIMAL.replace("  secret: ${WHMCS_API_SECRET}", "  secret: ${WHMCS_API_SECRET}\n  timeout: 5"))


def test_yaml_syntax_error_has_line():
    with pytest.raises(ConfigError, match=r"bridge.yaml:3: the file is not valid YAML"):
        parse("whmcs:\n  url: x\n  - y\n")


def test_empty_file():
    with pytest.raises(ConfigError, match="the file is empty"):
        parse("")


def test_dotenv_beside_the_config_is_read(tmp_path: Path):
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "bridge.yaml")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in ENV.items()))
    (tmp_path / ".env").chmod(0o600)  # it holds secrets: a world-readable .env is refused
    config = load_config(tmp_path / "bridge.yaml", environ={"WHMCS_API_SECRET": "from-environment"})
    assert config.whmcs.identifier.reveal() == "ident"
    assert config.whmcs.secret.reveal() == "from-environment"  # the environment wins over .env


def test_missing_file():
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config("/nonexistent/bridge.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("0", 0)],
)
def test_durations(text: str, seconds: int):
    assert Duration.parse(text).total_seconds() == seconds


# A bare number could be seconds or days (`default_expiry: 90` read as 90 seconds ended grants at once: issue
# 16, eleventh round F3): only 0 goes without a unit.
@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "1h x", "-3m", "90", "45"])
def test_bad_durations(text: str):
    with pytest.raises(ValueError):
        Duration.parse(text)


def test_every_mistake_is_reported_at_once_up_to_a_limit():
    text = MINIMAL + "poll:\n  every: soon\n  sweep_every: 3x\nlogging:\n  format: xml\n  levl: info\n"
    with pytest.raises(ConfigError) as caught:
        parse(text)
    lines = str(caught.value).splitlines()
    assert lines[0] == "4 mistakes in /etc/whmcs-bridge/bridge.yaml:"
    assert [line.strip().split(": ")[1] for line in lines[1:]] == [
        "poll.every",
        "poll.sweep_every",
        "logging.format",
        "logging.levl",
    ]
    many = MINIMAL + "poll:\n" + "".join(f"  unknown{n}: 1\n" for n in range(25))
    with pytest.raises(ConfigError) as caught:
        parse(many)
    lines = str(caught.value).splitlines()
    assert lines[0] == "25 mistakes in /etc/whmcs-bridge/bridge.yaml:" and lines[-1] == "  ... and 5 more"
    assert len(lines) == 1 + 20 + 1


OWNERSHIP = (
    MINIMAL
    + """staff: [alice, bob]
ownership:
  enabled: true
  remind_before: 3d
  policies:
    vendor:
      subjects: [domain]
      approvals: 2
      window: 14d
"""
)


def test_a_workable_ownership_section_passes():
    config = parse(OWNERSHIP)
    assert config.ownership.policies["vendor"].approvals == 2


# `check` accepted configurations no case could get through (issue 17, eleventh round L2): nobody may decide,
# more approvals than people who may give them, a reminder due before the window opens.
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            OWNERSHIP.replace("staff: [alice, bob]\n", ""),
            15,
            "ownership.policies.vendor.approvals: expected at most as many approvals as members of staff who may "
            "give them (2 approvals; staff: nobody: list them under `staff:` or `ownership.staff:`)",
        ),
        (
            OWNERSHIP.replace("staff: [alice, bob]\n", "staff: [alice]\n"),
            16,
            "ownership.policies.vendor.approvals: expected at most as many approvals as members of staff who may "
            "give them (2 approvals; staff: alice)",
        ),
        (
            OWNERSHIP.replace("  policies:\n", "  staff: [carol]\n  policies:\n"),
            17,
            "ownership.policies.vendor.approvals: expected at most as many approvals as members of staff who may "
            "give them (2 approvals; staff: carol)",
        ),
        (
            OWNERSHIP.replace("window: 14d", "window: 2d"),
            17,
            "ownership.policies.vendor.window: expected a window longer than ownership.remind_before (3d), "
            "found '2d'",
        ),
        (
            # Fifteenth round MEDIUM 1: a staff note in a case's thread is known only by the poll's read.
            OWNERSHIP + "poll:\n  enabled: false\n",
            OWNERSHIP.count("\n") + 2,
            "poll.enabled: expected true while ownership is enabled",
        ),
    ],
)
def test_ownership_no_case_could_get_through_is_refused(text: str, line: int, message: str):
    with pytest.raises(ConfigError) as caught:
        parse(text)
    text_out = str(caught.value)
    assert text_out.startswith(f"/etc/whmcs-bridge/bridge.yaml:{line}: "), text_out
    assert message in text_out


def test_ownership_disabled_needs_no_staff():
    parse(OWNERSHIP.replace("staff: [alice, bob]\n", "").replace("enabled: true", "enabled: false"))
