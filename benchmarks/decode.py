"""Decoding cost: the seed's GetPayment JSON into models vs `json.loads` alone, and encoding a
client-session request body. Ratios of medians over several timing runs, ratios first.

    python benchmarks/decode.py [--number 5000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import attrs

from purse_async._converter import structure, unstructure
from purse_async.models import Address, ItemLine, Order, Payment

HERE = Path(__file__).resolve().parent
PAYLOADS = {
    "seed": HERE / "data" / "seed_get_payment.json",
    "full": HERE.parent / "tests" / "data" / "seed_get_payment.json",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.number, args.repeat = 200, 3
    order = Order(
        reference="JLA123457",
        net_amount=12000,
        tax_amount=2000,
        billing_address=Address(first_name="Jane", last_name="Doe", city="Paris"),
        item_lines=(ItemLine(name="Bag", quantity=2, unit_gross_price=6000),),
    )

    def best(fn: object) -> float:
        runs = timeit.repeat(fn, number=args.number, repeat=args.repeat)  # type: ignore[arg-type]
        return statistics.median(runs) / args.number * 1e6

    def read_all(model: object) -> None:
        """Every attribute, recursively: builds every nested model the decode deferred."""
        for field in attrs.fields(type(model)):
            value = getattr(model, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                if attrs.has(type(item)):
                    read_all(item)

    print("ratios (target: decoding <= 3x json.loads)")
    print("  nested models are built on first read: 'decode' checks everything and builds the")
    print("  top level; '+ read all' also builds every nested model (the most a caller can pay;")
    print("  the cost of walking the attributes is measured apart and left out)")
    for name, path in PAYLOADS.items():
        raw = path.read_text()
        data = json.loads(raw)
        loads = best(lambda: json.loads(raw))  # noqa: B023 - used before the next iteration
        models = best(lambda: structure(data, Payment))  # noqa: B023
        built = structure(data, Payment)
        read_all(built)  # now every nested model exists: what remains is the walk itself
        walk = best(lambda: read_all(built))  # noqa: B023
        everything = best(lambda: read_all(structure(data, Payment))) - walk  # noqa: B023
        print(
            f"  {name:<4} payload ({len(raw):>5} bytes): models alone / json.loads "
            f"{models / loads:5.2f}x, + read all {everything / loads:5.2f}x"
            f"   [json.loads {loads:.1f} µs, decode {models:.1f} µs, + read all "
            f"{everything:.1f} µs]"
        )
    encode = best(lambda: json.dumps(unstructure({"amount": 12000, "order": order})))
    print(f"encoding a client-session body: {encode:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
