"""The BridgeError family: every error a user can cause or meet, as one clear sentence."""

from __future__ import annotations

# Exit codes, the same for every command (the README's "Exit codes" table):
EXIT_REFUSED = 1  # the command was refused, or a check it ran found a problem (audit verify)
EXIT_CONFIG = 2  # the configuration file or the command line is wrong (click's usage errors are 2 too)
EXIT_ENVIRONMENT = 3  # the machine: a port in use, a file or folder the user may not read or write
EXIT_DATABASE = 4  # the state database is missing, damaged or from a newer version
EXIT_WHMCS = 5  # WHMCS could not be reached or refused the credentials


class BridgeError(Exception):
    """Base of every error whmcs-bridge raises on purpose; its text is shown to the user as is."""

    exit_code = EXIT_REFUSED

    def __init__(self, *args: object, detail: dict[str, object] | None = None) -> None:
        super().__init__(*args)
        # What a command found before it failed, added to its --json error document.
        self.detail: dict[str, object] = detail or {}


class ConfigError(BridgeError):
    """The configuration file is invalid; the message names file, line and key path."""

    exit_code = EXIT_CONFIG


class UsageProblem(BridgeError):
    """The command names something that does not exist or does not fit (a service of another client)."""

    exit_code = EXIT_CONFIG


class EnvironmentProblem(BridgeError):
    """Something about the machine stops the command: a port in use, a permission, a full disk."""

    exit_code = EXIT_ENVIRONMENT


class RolledBack(EnvironmentProblem):
    """The state database is behind the audit anchors WHMCS holds (restored from an older backup): nothing
    may act on it until staff restore a newer one or acknowledge the loss."""


class StateEdited(EnvironmentProblem):
    """A case's state in the database disagrees with the keyed audit chain (edited outside the bridge): nothing
    of the case runs until staff restore the state from a backup."""


class WhmcsApiError(BridgeError):
    """WHMCS answered `result: error` for an action."""

    exit_code = EXIT_WHMCS

    def __init__(self, action: str, message: str, *, status: int | None = None) -> None:
        self.action = action
        self.whmcs_message = message
        self.status = status
        super().__init__(f"WHMCS refused {action}: {message}")


class WhmcsAuthError(WhmcsApiError):
    """HTTP 403: bad credentials, IP not allowed, or action not allowed by the API role. Never retried."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(action, message, status=403)
        self.args = (
            f"WHMCS denied {action} (HTTP 403): {message}. Check the API credential, the API role's "
            "allowed actions and the IP allow-list (General Settings > Security).",
        )


class WhmcsUnavailableError(BridgeError):
    """WHMCS could not be reached or kept failing (connection errors, timeouts, 5xx, 429) after retries."""

    exit_code = EXIT_WHMCS

    def __init__(self, action: str, reason: str, attempts: int, *, sent: bool = True) -> None:
        self.action = action
        self.reason = reason
        self.attempts = attempts
        # False when WHMCS cannot have carried the request out (the connection was refused, WHMCS
        # answered an error): nothing to reconcile, the action is simply tried again.
        self.sent = sent
        super().__init__(f"WHMCS did not answer {action} after {attempts} attempt(s): {reason}")


class WhmcsProtocolError(BridgeError):
    """WHMCS answered something that is not a WHMCS API response (not JSON, no result field)."""

    exit_code = EXIT_WHMCS


class PollFailed(BridgeError):
    """`tick`'s poll of WHMCS failed (the pass went on without it)."""

    exit_code = EXIT_WHMCS


class StoreError(BridgeError):
    """The state database cannot be opened or migrated, is damaged, or is missing."""

    exit_code = EXIT_DATABASE


class AuditChainError(BridgeError):
    """The audit chain does not verify; the message names the first broken row."""

    def __init__(self, row_id: int, reason: str) -> None:
        self.row_id = row_id
        self.reason = reason
        super().__init__(f"audit chain broken at row {row_id}: {reason}")


class SignatureError(BridgeError):
    """A webhook's Standard Webhooks headers or signature do not verify."""
