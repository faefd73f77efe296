"""The sandbox's whole state, in memory, behind one lock.

Every API call, page post, control call and background tick takes `Store.lock` for its whole
read-modify-write, so the sandbox behaves as if requests ran one at a time. Only the webhook
HTTP posts happen outside it (they can be slow and must never block the API).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Delivery:
    """One event to one endpoint; `attempts` grows with each try (retries and resends)."""

    id: int
    event_id: str
    url: str
    next_at: float                    # time.monotonic() of the next try
    seq: int                          # tie-breaker: lower goes first
    status: str = "pending"           # pending | in_flight | succeeded | failed
    attempts: list[dict] = field(default_factory=list)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Woken whenever a delivery is queued or finished (the worker and the hosted page wait on it).
        self.changed = threading.Condition(self.lock)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[str, dict] = {}
            self.coupons: dict[str, dict] = {}
            self.sessions: dict[str, dict] = {}
            self.session_expiry: dict[str, int] = {}         # session id -> when it expires on the sandbox clock
            self.line_items: dict[str, list[dict]] = {}      # session id -> line item objects
            self.session_intent_data: dict[str, dict] = {}   # session id -> payment_intent_data
            self.payment_intents: dict[str, dict] = {}
            self.charges: dict[str, dict] = {}
            self.refunds: dict[str, dict] = {}
            self.disputes: dict[str, dict] = {}
            self.events: dict[str, dict] = {}                # insertion order = creation order
            self.event_bodies: dict[str, str] = {}           # the exact JSON delivered
            self.event_targets: dict[str, list[str]] = {}    # endpoints at creation time
            self.deliveries: dict[int, Delivery] = {}
            self.idempotency: dict[str, dict] = {}
            self.settlements: dict[str, tuple[int, str]] = {}  # pi id -> (due, outcome)
            # Billing (stripe_sandbox/billing.py)
            self.subscriptions: dict[str, dict] = {}
            self.sub_private: dict[str, dict] = {}           # sub id -> sandbox-only state
            self.invoices: dict[str, dict] = {}
            self.invoice_payments: dict[str, dict] = {}
            self.payment_methods: dict[str, dict] = {}
            self.pm_numbers: dict[str, str] = {}             # pm id -> test card number
            self.discounts: dict[str, dict] = {}
            self.portal_sessions: dict[str, dict] = {}
            self.test_clocks: dict[str, dict] = {}
            self.session_subscription_data: dict[str, dict] = {}  # session id -> subscription_data
            self.product_names: dict[str, str] = {}          # prod id -> product_data.name
            self.billing_settings = {"after_final_retry": "canceled"}
            self.clock_offset = 0
            self.frozen_at: int | None = None
            self.webhooks_paused = False
            self._seq = 0
            self.changed.notify_all()

    def now(self) -> int:
        """Sandbox time (Unix seconds); `/_sandbox/clock/advance` moves it forward."""
        if self.frozen_at is not None:
            return self.frozen_at
        return int(time.time()) + self.clock_offset

    @contextmanager
    def frozen(self, at: int):
        """Run a billing action at its own due time (events carry it as `created`)."""
        previous, self.frozen_at = self.frozen_at, at
        try:
            yield
        finally:
            self.frozen_at = previous

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def pending_webhooks(self, event_id: str) -> int:
        done = {d.url for d in self.deliveries.values()
                if d.event_id == event_id and d.status == "succeeded"}
        return len([url for url in self.event_targets.get(event_id, []) if url not in done])
