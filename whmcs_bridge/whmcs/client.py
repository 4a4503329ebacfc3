"""The WHMCS API transport: form-encoded POSTs to includes/api.php, one retry policy, lazy pagination.

Retry rule (one policy, built once): connection failures before the request left, and HTTP 429,
are retried for every action; read timeouts, dropped connections and 5xx are retried only for
read-only actions (Get*, DomainGet*), because a write that timed out may already have happened in
WHMCS. Repeating a write is the executor's decision, after it has reconciled with WHMCS.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import requests
import urllib3.exceptions
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from whmcs_bridge.errors import (
    WhmcsApiError,
    WhmcsAuthError,
    WhmcsProtocolError,
    WhmcsUnavailableError,
)
from whmcs_bridge.whmcs import normalize

log = logging.getLogger("whmcs_bridge.whmcs")

Params = Mapping[str, Any]


def is_read_only(action: str) -> bool:
    return action.startswith("Get") or action.startswith("DomainGet") or action == "DomainWhois"


@dataclass
class TransientError(Exception):
    """A failure worth another attempt. `sent` says whether WHMCS may have seen the request."""

    reason: str
    sent: bool
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.reason


# Statuses a proxy or web server answers itself when PHP did not run the API (a bad gateway, a service
# unavailable during maintenance, a page not found): with a page that is not the API's JSON, nothing ran.
NOT_RUN_STATUSES = frozenset({404, 502, 503})


def _json_answer(text: str) -> Any:
    """The API's JSON answer, also when PHP printed notices or warnings before it (display_errors on a
    live WHMCS): the first '{' from which the rest of the body parses. None when there is none."""
    start = text.find("{")
    for _ in range(20):  # a page with braces in its CSS is not searched to the end
        if start < 0:
            return None
        try:
            return json.loads(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
    return None


# After a stop request, a call in flight is waited for this long more, then left to WHMCS (see Interrupted).
STOP_GRACE_S = 0.5


class Interrupted(BaseException):  # noqa: N818 (not an error: the process was asked to stop)
    """The process is stopping while a WHMCS call is in flight: the call is left to WHMCS, its outcome
    unknown; an action's call stays in flight and is reconciled after the in-flight grace at the next
    start. A BaseException, so that no `except Exception` on its way up takes it for a failed call."""

    def __init__(self, action: str) -> None:
        super().__init__(f"stopped while WHMCS's answer to {action} was awaited")
        self.action = action


def is_retryable(exc: BaseException, action: str) -> bool:
    if not isinstance(exc, TransientError):
        return False
    return not exc.sent or is_read_only(action)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: min(cap, initial * 2**(n-1)) + jitter() * jitter_s seconds."""

    initial_s: float = 1.0
    cap_s: float = 30.0
    jitter_s: float = 1.0
    retry_after_cap_s: float = 300.0

    def delay(self, attempt: int, jitter: float, retry_after: float | None = None) -> float:
        base = min(self.cap_s, self.initial_s * 2 ** (attempt - 1)) + jitter * self.jitter_s
        if retry_after is not None:
            base = max(base, min(retry_after, self.retry_after_cap_s))
        return base


class stop_when(stop_base):  # noqa: N801 (named like tenacity's own stop conditions)
    """Stop retrying once `flag()` is true."""

    def __init__(self, flag: Callable[[], bool]) -> None:
        self.flag = flag

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.flag()


def encode_params(params: Params, prefix: str = "") -> list[tuple[str, str]]:
    """PHP form encoding: nested dicts and lists become `key[sub]` and `key[0]` fields; None is left out."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            out.extend(encode_params(value, name))
        elif isinstance(value, (list, tuple)):
            out.extend(encode_params({str(i): v for i, v in enumerate(value)}, name))
        elif isinstance(value, bool):
            out.append((name, "1" if value else "0"))
        elif isinstance(value, datetime):
            out.append((name, value.strftime("%Y-%m-%d %H:%M:%S")))
        elif isinstance(value, (date, Decimal, int, float)):
            out.append((name, str(value)))
        else:
            out.append((name, str(value)))
    return out


class WhmcsClient:
    """Talks to one WHMCS. Thread-safe for calls from one thread at a time (one requests.Session)."""

    def __init__(
        self,
        api_url: str,
        identifier: str,
        secret: str,
        *,
        access_key: str | None = None,
        connect_timeout_s: float = 5.0,
        timeout_s: float = 20.0,
        verify_tls: bool = True,
        max_attempts: int = 5,
        page_size: int = 250,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], object] = time.sleep,
        jitter: Callable[[], float] = random.random,
        session: requests.Session | None = None,
        stopping: Callable[[], bool] = lambda: False,
        interruptible: bool = False,
    ) -> None:
        self.api_url = api_url
        self._auth = {"identifier": identifier, "secret": secret}
        if access_key:
            self._auth["accesskey"] = access_key
        self._secrets = [s for s in (identifier, secret, access_key) if s]
        self.timeout = (connect_timeout_s, timeout_s)
        self.verify_tls = verify_tls
        self.max_attempts = max_attempts
        self.page_size = page_size
        self.writes = 0  # write calls that ran, or may have, in WHMCS (see _count_write)
        self.backoff = backoff
        self._sleep = sleep
        # True once the process is asked to stop: no further attempt is made (see _attempt), and with
        # `interruptible` a call in flight is not waited for (see _post).
        self.stopping = stopping
        self.interruptible = interruptible
        # Set by the executor around one action: why it is no longer wanted (its guard, re-read from the
        # bridge's store: a grant revoked meanwhile), or None. An attempt that failed before WHMCS took it
        # is then not sent again; the call fails as unavailable and the executor's next look cancels it.
        self.resend_check: Callable[[], str | None] | None = None
        self._jitter = jitter
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "whmcs-bridge"
        self.calls = 0  # HTTP requests made, for benchmarks and `check --online`

    @classmethod
    def from_config(cls, section: Any, **kwargs: Any) -> WhmcsClient:
        return cls(
            section.api_url,
            section.identifier.reveal(),
            section.secret.reveal(),
            access_key=section.access_key.reveal() if section.access_key else None,
            connect_timeout_s=section.connect_timeout_s,
            timeout_s=section.timeout_s,
            verify_tls=section.verify_tls,
            max_attempts=section.max_attempts,
            page_size=section.page_size,
            **kwargs,
        )

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # --- one call ---------------------------------------------------------------------------

    def call(self, action: str, params: Params | None = None) -> dict[str, Any]:
        """Run one API action; return its JSON answer with flattened keys rebuilt.

        Raises WhmcsApiError (result: error), WhmcsAuthError (HTTP 403), WhmcsUnavailableError
        (retries exhausted) or WhmcsProtocolError (not a WHMCS answer).
        """

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            return self.backoff.delay(state.attempt_number, self._jitter(), retry_after)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "WHMCS %s attempt %d failed (%s); retrying in %.1fs",
                action,
                state.attempt_number,
                self.redact(str(exc)),
                state.upcoming_sleep,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts) | stop_when(self.stopping) | stop_when(self.unwanted),
            wait=wait,
            retry=retry_if_exception(lambda e: is_retryable(e, action)),
            sleep=lambda seconds: None if self._sleep(seconds) else None,  # Event.wait returns a bool
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, action, params or {})
        except TransientError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise WhmcsUnavailableError(action, self.redact(exc.reason), attempts, sent=exc.sent) from None

    def unwanted(self) -> bool:
        return bool(self.resend_check and self.resend_check())

    def _attempt(self, action: str, params: Params) -> dict[str, Any]:
        if self.stopping():  # asked to stop during a retry wait: the request is not sent again
            raise TransientError("whmcs-bridge is stopping", sent=False)
        if self.unwanted():  # no longer wanted since the last attempt failed (a revocation during the wait)
            raise TransientError(f"{action} is no longer wanted: not sent again", sent=False)
        body = encode_params({**params, "action": action, "responsetype": "json"}) + list(self._auth.items())
        started = time.monotonic()
        self.calls += 1
        try:
            response = self._post(action, body)
        except requests.exceptions.SSLError as exc:
            raise WhmcsProtocolError(
                f"TLS verification of {self.api_url} failed for {action}: {self.redact(str(exc))}"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            failed = TransientError(f"{type(exc).__name__}: {self.redact(str(exc))}", sent=not _never_sent(exc))
            self._count_write(action, failed.sent)
            raise failed from None
        elapsed_ms = (time.monotonic() - started) * 1000
        log.debug("WHMCS %s -> HTTP %d in %.0f ms", action, response.status_code, elapsed_ms)
        try:
            answer = self._answer(action, response)
        except TransientError as exc:
            self._count_write(action, exc.sent)
            raise
        self._count_write(action, True)
        return answer

    def _post(self, action: str, body: list[tuple[str, str]]) -> requests.Response:
        """The HTTP request. An interruptible client (the daemon's) makes it in a thread of its own and
        waits for it in steps, so that a stop request is not kept waiting up to the timeout by a slow
        WHMCS: it raises Interrupted, and the request is left to finish or fail on its own."""
        if not self.interruptible:
            return self.session.post(self.api_url, data=body, timeout=self.timeout, verify=self.verify_tls)
        outcome: list[requests.Response | BaseException] = []
        done = threading.Event()

        def send() -> None:
            try:
                outcome.append(self.session.post(self.api_url, data=body, timeout=self.timeout, verify=self.verify_tls))
            except BaseException as exc:  # handed to the waiting thread
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=send, name=f"whmcs-{action}", daemon=True).start()
        while not done.wait(0.1):
            if self.stopping() and not done.wait(STOP_GRACE_S):
                raise Interrupted(action)
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _count_write(self, action: str, may_have_run: bool) -> None:
        """Count the writes that ran, or may have, in WHMCS: a caller making several calls (a write, then
        a read to find what it made) can tell whether its write left even when a later read failed."""
        if may_have_run and not is_read_only(action):
            self.writes += 1

    def _answer(self, action: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        data = _json_answer(response.text)
        message = self.redact(str(data.get("message", ""))) if isinstance(data, dict) else ""
        if status == 403:
            raise WhmcsAuthError(action, message or self.redact(response.text[:200].strip()))
        if status == 429:
            raise TransientError("HTTP 429 Too Many Requests", sent=False, retry_after=_seconds(response))
        if status >= 500 and isinstance(data, dict) and data.get("result") == "error":
            # WHMCS's own error answer, with a server error status: it refused, it did not do it.
            raise TransientError(f"HTTP {status} from WHMCS: {message or 'no message'}", sent=False)
        if status >= 500 and (isinstance(data, dict) or status not in NOT_RUN_STATUSES):
            # The request reached WHMCS, which may have done part of it (a PHP fatal error is a 500; a
            # proxy's 504 leaves PHP running): outcome unknown.
            raise TransientError(f"HTTP {status} from WHMCS", sent=True, retry_after=_seconds(response))
        if not isinstance(data, dict):
            # A web server's or proxy's page, not the API's answer: a maintenance page, a 502/503 while
            # PHP is down, a 404 while WHMCS is redeployed. The API did not run (its answer is JSON, even
            # after PHP notices, which _json_answer skips): the call is simply tried again later. A wrong
            # whmcs.url shows the same way; `check --online` says so.
            snippet = self.redact(response.text[:80].strip())
            raise TransientError(
                f"HTTP {status} from {self.api_url}, not a WHMCS API answer ({snippet!r}); if it lasts, check "
                "that whmcs.url is the WHMCS root",
                sent=False,
                retry_after=_seconds(response),
            )
        # Most actions answer `result`; a few (GetPermissionsList, GetEmails errors) use `status`.
        outcome = data.get("result", data.get("status"))
        if outcome == "error":
            raise WhmcsApiError(action, message or "no message", status=status)
        if outcome != "success":
            raise WhmcsProtocolError(f"WHMCS answered {action} without a result field")
        return normalize.unflatten(data, keep_numeric_keys=action in normalize.KEYED_BY_NUMBER)

    # --- lists --------------------------------------------------------------------------------

    def pages(
        self,
        action: str,
        plural: str,
        singular: str | None,
        params: Params | None = None,
        *,
        page_size: int | None = None,
        start: int = 0,
    ) -> Iterator[normalize.Page]:
        """Walk a list action page by page, lazily: the next page is fetched only when asked for."""
        size = page_size or self.page_size
        offset = start
        while True:
            raw = self.call(action, {**(params or {}), "limitstart": offset, "limitnum": size})
            current = normalize.page(raw, plural, singular)
            yield current
            if current.returned <= 0 or not current.items:
                return
            offset += current.returned
            if offset >= current.total:
                return

    def iterate(
        self,
        action: str,
        plural: str,
        singular: str | None,
        params: Params | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        for current in self.pages(action, plural, singular, params, page_size=page_size):
            yield from current.items


def _never_sent(exc: Exception) -> bool:
    """True when the request certainly did not reach WHMCS (no connection could be made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
    return False


def _seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None
