"""The catalogue as this installation uses it: every message of the core and of each family (its
`messages` module and its `catalogue/<lang>.yaml` files), with the configuration's own templates over
them. Reads the package's files and the configuration file."""

from __future__ import annotations

import functools
import importlib
import signal
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from whmcs_bridge.errors import ConfigError
from whmcs_bridge.messages import catalogue
from whmcs_bridge.messages.render import Template
from whmcs_bridge.messages.spec import MessageSpec, specs

if TYPE_CHECKING:
    from whmcs_bridge.config.load import Config

CORE = "whmcs_bridge.messages.core"


def packages() -> list[str]:
    """The packages that define messages: the core's and each family's (its `messages` module)."""
    from whmcs_bridge import families  # the registry knows the families; they do not know this module

    return [CORE, *(spec.package for spec in families.FAMILIES)]


def all_specs(config: Config | None = None) -> dict[str, MessageSpec]:
    """Every shipped message, and (with a configuration) the messages it names that are not shipped: a
    family's `configured(config)` says what they are (their templates must come from messages.templates)."""
    modules = [importlib.import_module(f"{p}.messages") for p in packages()]
    groups = [m.MESSAGES for m in modules]
    if config is not None:
        groups += [m.configured(config) for m in modules if hasattr(m, "configured")]
    return specs(*groups)


def shipped_templates() -> list[catalogue.Template]:
    problems: list[str] = []
    out: list[Template] = []
    for package in packages():
        folder = resources.files(package) / "catalogue"
        for lang in catalogue.SHIPPED:
            source = folder / f"{lang}.yaml"
            if source.is_file():
                out += catalogue.read_language_file(source.read_text(encoding="utf-8"), str(source), lang, problems)
    if problems:  # a packaging mistake, caught by the tests
        raise ConfigError("the shipped message catalogue is damaged: " + "; ".join(problems))
    return out


@functools.cache
def shipped() -> catalogue.Catalogue:
    """The shipped catalogue, English for staff and for clients without a language."""
    return catalogue.build(all_specs(), shipped_templates(), [])


def for_config(config: Config) -> catalogue.Catalogue:
    """The shipped catalogue with the configuration's templates over it; ConfigError with FILE:LINE."""
    problems: list[str] = []
    overrides: list[Template] = []
    if config.messages.templates:
        text = Path(config.source).read_text(encoding="utf-8")
        overrides = catalogue.read_overrides(yaml.compose(text, Loader=yaml.SafeLoader), str(config.source), problems)
    if problems:
        raise ConfigError("\n  ".join(problems))
    return within(
        TRIAL_SECONDS,
        lambda: catalogue.build(
            all_specs(config),
            shipped_templates(),
            overrides,
            default_locale=catalogue.locale_of(config.messages.default_language) or catalogue.FALLBACK,
            staff_locale=catalogue.locale_of(config.messages.staff_language) or catalogue.FALLBACK,
        ),
    )


TRIAL_SECONDS = 5.0  # the configured templates' trial renders, all together, in CPU seconds of this process


class _TooSlow(BaseException):
    """Raised by the timer inside a render: not an Exception, so no template error handler swallows it."""


def within(seconds: float, build: Callable[[], catalogue.Catalogue]) -> catalogue.Catalogue:
    """`build`, stopped after `seconds` of CPU time (a configured template whose loops would run for hours is
    refused at `check` and at start, rather than hanging the daemon when it sends). CPU time, not wall time: a
    loaded machine makes the build slower, not the templates worse (a render cannot wait on anything). Only
    the main thread can be interrupted; elsewhere the build runs unbounded."""
    if threading.current_thread() is not threading.main_thread():
        return build()

    def stop(signum: int, frame: object) -> None:
        raise _TooSlow

    previous = signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return build()
    except _TooSlow:
        raise ConfigError(
            f"the templates under messages.templates took more than {seconds:g} CPU seconds to render once with sample "
            "data (a loop too large?); `whmcs-bridge messages preview ID` shows which"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
