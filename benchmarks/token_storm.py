"""Token storm: 1,000 concurrent calls when no token is valid make exactly one token request;
then memory stays flat (RSS and tracemalloc) over many calls. Against the embedded sandbox.

    python benchmarks/token_storm.py [--concurrency 1000] [--calls 100000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from purse_async.testing import Sandbox


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(concurrency: int, calls: int) -> int:
    async with Sandbox() as sandbox, sandbox.client(max_connections=100) as purse:
        keys = await purse.signing_keys.retrieve()  # warm up: connections, code paths
        assert keys.keys
        sandbox.expire_all_tokens()
        purse._tokens._token = None  # the client's token is gone too: the storm case
        before = sandbox.stats.token_requests
        started = time.perf_counter()
        await asyncio.gather(*(purse.signing_keys.retrieve() for _ in range(concurrency)))
        drained = time.perf_counter() - started
        storm_tokens = sandbox.stats.token_requests - before
        print(
            f"token storm: {concurrency} concurrent calls -> {storm_tokens} token request(s) "
            f"(target 1), drained in {drained:.2f}s"
        )

        tracemalloc.start()
        batch = max(calls // 10, 1)
        samples = []
        for _ in range(10):
            await asyncio.gather(*(purse.signing_keys.retrieve() for _ in range(min(batch, 200))))
            for _ in range(batch // 200):
                await asyncio.gather(*(purse.signing_keys.retrieve() for _ in range(200)))
            samples.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
        growth = (samples[-1] - samples[1]) / max(samples[1], 1)
        print(
            f"memory over {calls} calls: traced {samples[1] / 1e6:.1f} MB -> "
            f"{samples[-1] / 1e6:.1f} MB ({growth:+.1%}, target < 5%); max RSS {rss_mb():.0f} MB"
        )
        return 0 if storm_tokens == 1 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.concurrency, args.calls = 200, 1000
    return asyncio.run(run(args.concurrency, args.calls))


if __name__ == "__main__":
    sys.exit(main())
