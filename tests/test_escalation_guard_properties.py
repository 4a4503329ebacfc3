"""Property test of the ladder's guards against the sandbox (issue 15): random sequences of passes at any hour,
staff suspending, re-reasoning and unsuspending services by hand, approvals through the CLI and payments.
Whatever the order: no destructive step runs outside its window (working days and hours of the configured
zone, holidays excluded), and the bridge never unsuspends a service whose current suspension is staff's."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Sandbox
from tests.test_escalation_e2e import configure
from tests.test_escalation_guards import Story, with_ladder

PARIS = ZoneInfo("Europe/Paris")
HOLIDAYS = {"2026-12-25", "2026-12-26", "2027-01-01"}
DESTRUCTIVE = {"ModuleSuspend", "ModuleTerminate", "ModuleCustom", "UpdateInvoice"}
LADDER = """        - name: lock
          after_days: 30
          counted_from: due
          approval: impact
          actions:
            - module_command: {function: lock_reseller_panel, inverse: unlock_reseller_panel}
        - name: sites-off
          after_days: 1
          approval: impact
          actions:
            - suspend: {reason: Administrative reasons}
        - name: collections
          after_days: 1
          actions:
            - invoice_status: Collections"""

operations = st.one_of(
    st.tuples(st.just("pass"), st.integers(0, 2), st.sampled_from([2, 7, 8, 12, 16, 21])),
    st.tuples(st.just("approve")),
    st.tuples(
        st.just("staff_suspend"),
        st.sampled_from([101, 102]),
        st.sampled_from(["Abuse: phishing kit", "Abuse: spam run"]),
    ),
    st.tuples(st.just("staff_unsuspend"), st.sampled_from([101, 102])),
    st.tuples(st.just("pay_all")),
)


def in_window(moment: datetime) -> bool:
    local = moment.astimezone(PARIS)
    return local.weekday() < 5 and local.date().isoformat() not in HOLIDAYS and 9 <= local.hour < 17


class Guarded:
    """One story: the bridge's passes and staff's hands, checking the two properties after every pass."""

    def __init__(self, sandbox: Sandbox) -> None:
        sandbox.load("reseller-overdue", at="2026-12-21T10:00:00")
        config = configure(Path(tempfile.mkdtemp(prefix="guards-")), sandbox)
        with_ladder(config, LADDER)
        self.story = Story(config, sandbox)
        self.sandbox = sandbox
        self.now = datetime.fromisoformat("2026-12-21T10:00:00+00:00")
        self.staff: dict[int, str] = {}  # service -> the reason staff suspended it for, while staff's
        self.paid = False
        self.run_pass()  # the first poll finds the overdue invoices and reads the client

    def service(self, service_id: int) -> dict[str, Any]:
        return self.sandbox.rows("services", id=service_id)[0]

    def act(self, action: str, **params: Any) -> None:
        self.story.act(action, **params)
        self.story.seen = len(self.sandbox.calls())  # staff's calls are not the bridge's

    def apply(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "pass":
            self.now = (self.now + timedelta(days=op[1])).replace(hour=op[2], minute=0)
            self.run_pass()
        elif kind == "approve":
            self.story.approve_all()
        elif kind == "staff_suspend":
            service_id, reason = op[1], op[2]
            if self.service(service_id)["status"] == "Active":
                self.act("ModuleSuspend", serviceid=service_id, suspendreason=reason)
            elif self.service(service_id)["status"] == "Suspended":
                self.act("UpdateClientProduct", serviceid=service_id, suspendreason=reason)
            else:
                return
            self.staff[service_id] = reason
        elif kind == "staff_unsuspend":
            if self.service(op[1])["status"] == "Suspended":
                self.act("ModuleUnsuspend", serviceid=op[1])
            self.staff.pop(op[1], None)
        elif kind == "pay_all" and not self.paid:
            for invoice in range(1, 12):
                self.act("AddInvoicePayment", invoiceid=invoice, transid=f"BANK-{invoice}", gateway="banktransfer")
            self.paid = True

    def run_pass(self) -> None:
        writes = self.story.day(self.now.isoformat().replace("+00:00", "Z"), passes=2)
        destructive = [
            c
            for c in writes
            if c["action"] in DESTRUCTIVE
            and not (c["action"] == "ModuleCustom" and c["params"].get("func_name", "").startswith("unlock"))
            and not (c["action"] == "UpdateInvoice" and c["params"].get("status") != "Collections")
        ]
        assert not destructive or in_window(self.now), (self.now, [c["action"] for c in destructive])
        lifted = {int(c["params"].get("serviceid") or 0) for c in writes if c["action"] == "ModuleUnsuspend"}
        assert not lifted & set(self.staff), f"the bridge unsuspended staff's suspension of {lifted & set(self.staff)}"
        for service_id, reason in self.staff.items():
            row = self.service(service_id)
            assert (row["status"], row["suspensionreason"]) == ("Suspended", reason)


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # a failing story is printed whole: shrinking one costs minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=4, max_size=12))
# An approval given at night (the lock must wait for the morning), then a staff abuse suspension and a payment.
@example(
    ops=[
        ("pass", 0, 12),
        ("approve",),
        ("pass", 0, 21),
        ("pass", 1, 7),
        ("pass", 0, 12),
        ("pass", 1, 12),
        ("approve",),
        ("pass", 0, 21),
        ("pass", 1, 12),
        ("staff_suspend", 101, "Abuse: phishing kit"),
        ("pay_all",),
        ("pass", 0, 16),
    ]
)
def test_no_destructive_step_outside_its_window_and_no_unsuspension_of_staffs(sandbox: Sandbox, ops: list[Any]):
    story = Guarded(sandbox)
    for op in ops:
        story.apply(op)
    story.apply(("pass", 1, 12))  # one more pass in the window, after the last of staff's moves
