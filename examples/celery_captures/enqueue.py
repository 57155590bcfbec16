"""Enqueue captures and wait for their results (the producer side, e.g. your web app):

    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 python enqueue.py PAYMENT_ID:ORDER_REF[:AMOUNT] ...

Sending the same order twice is harmless: the second task returns the first capture,
`"replayed": true`.
"""

from __future__ import annotations

import json
import sys

from celery.result import ResultSet
from tasks import app, capture_order


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    results = []
    for spec in argv:
        payment_id, order_reference, *amount = spec.split(":")
        results.append(
            capture_order.delay(payment_id, order_reference, int(amount[0]) if amount else None)
        )
    for result in ResultSet(results).get(timeout=120):
        print(json.dumps(result))
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
