"""Locust: the checkout mix of load.py (create a session, the shopper pays on the hosted page,
verify the redirection, retrieve the payment, capture 5000, refund 2000) through the SDK, one
Locust request per SDK call (`purse_async.contrib.locust.PurseUser`).

Against the sandbox, served by one process for every Locust process:

    python -m purse_async sandbox --port 8081 --quiet --env-file /tmp/purse.env &
    sleep 2 && eval "$(cat /tmp/purse.env)"
    locust -f benchmarks/locustfile.py --headless -u 50 -r 50 -t 30s --host "$PURSE_BASE_URL"
    # distributed: one master, any number of workers (other hosts: --master-host)
    locust -f benchmarks/locustfile.py --headless --master --expect-workers 2 -u 50 -r 50 -t 30s
    locust -f benchmarks/locustfile.py --worker    # twice

Against any Purse environment: export its `PURSE_*` variables (no shopper can be simulated
there, so the mix is create a session + retrieve it; `--purse-mix sessions`, the default when
the host is not a sandbox). `PURSE_TOKEN_STORE_URL=redis://...` makes every Locust process
share one token through `RedisTokenStore`. Stats: Locust's own (`--csv PREFIX`, the web UI).
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from locust import constant, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import purse_sync
from purse_async.contrib.locust import PurseUser

RETURN = "https://shop.example/back"
_MIX_LOCK = threading.Lock()  # gevent's, once locust has patched the process


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--purse-mix",
        choices=["auto", "checkout", "sessions"],
        default="auto",
        help="checkout (needs the sandbox: it plays the shopper), sessions (create + "
        "retrieve, for any Purse environment) or auto (checkout if the host is a sandbox)",
    )


def _is_sandbox(base_url: str) -> bool:
    """Whether `base_url` answers the sandbox's admin route (a read-only loopback GET)."""
    from purse_async.testing._admin import SandboxAdmin

    try:
        SandboxAdmin(base_url, timeout=5).stats()
    except Exception:
        return False
    return True


def _token_store() -> Any:
    url = os.environ.get("PURSE_TOKEN_STORE_URL")
    if not url:
        return None
    from purse_async.contrib.redis import RedisTokenStore

    return RedisTokenStore(url)


class Checkout(PurseUser):
    """One shopper after another, no think time: throughput, as load.py measures it."""

    wait_time = constant(0)
    purse_options = (
        {"token_store": _token_store()} if os.environ.get("PURSE_TOKEN_STORE_URL") else {}
    )
    _mix: str | None = None

    def on_start(self) -> None:
        super().on_start()
        base_url = self.purse.settings.base_url
        with _MIX_LOCK:  # the first user decides, once per Locust process
            if Checkout._mix is None:
                options = self.environment.parsed_options
                mix = options.purse_mix if options else "auto"
                if mix == "auto":
                    mix = "checkout" if _is_sandbox(base_url) else "sessions"
                Checkout._mix = mix
        from locust.clients import HttpSession

        # The shopper's browser, reported by Locust itself (POST /hosted/sessions/{id}/submit).
        self.shopper = HttpSession(base_url, self.environment.events.request, self)

    def on_stop(self) -> None:
        self.shopper.close()
        super().on_stop()

    @task
    def checkout(self) -> None:
        try:
            session = self.purse.client_sessions.create(
                amount=12000,
                currency="EUR",
                shopper_redirection_url=RETURN,
                order={"reference": f"locust-{uuid.uuid4().hex[:12]}"},
            )
            if Checkout._mix == "sessions":
                self.purse.client_sessions.retrieve(session.id)
                return
            url = self._pay(session)
            if url is None:
                return
            redirect = self.purse.redirections.verify(url, expected_client_session_id=session.id)
            assert redirect.payment_id is not None
            payment = self.purse.payments.retrieve(redirect.payment_id)
            self.purse.payments.capture(payment.id, amount=5000)
            self.purse.payments.refund(payment.id, amount=2000)
        except purse_sync.PurseError:
            return  # reported as the failure of its endpoint; the next checkout starts afresh

    def _pay(self, session: Any) -> str | None:
        """The shopper submits the hosted page's form: the signed redirection URL, or None
        (the failure is reported)."""
        hosted = session.links.hosted_page if session.links else None
        path = f"/hosted/sessions/{session.id}/submit"
        if hosted:
            path = hosted.rstrip("/") + "/submit"
        with self.shopper.post(
            path,
            data={"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
            allow_redirects=False,
            name="/hosted/sessions/{id}/submit",
            catch_response=True,
        ) as resp:
            location = resp.headers.get("Location")
            if resp.status_code != 303 or not location:
                resp.failure(f"expected a 303 to the shop, got {resp.status_code}")
                return None
            return str(location)
