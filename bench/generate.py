"""Benchmark: the demo generator at benchmark scale (1M households by default).

Prints throughput and peak memory of `generate_rows`, as a ratio against a baseline
measured in the same run: producing the same number of bare dicts with the same
random stream and no domain logic. Not part of the test suite.

    .tools/bin/uv run python bench/generate.py [--households 1000000]
"""

from __future__ import annotations

import argparse
import random
import resource
import time
import uuid

from selaras_registry.demo import generate_rows


def _baseline(count: int) -> tuple[float, int]:
    rng = random.Random(2016)
    started = time.perf_counter()
    members = 0
    for _ in range(count):
        size = rng.randint(1, 7)
        row = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "members": [{"nik": f"{rng.getrandbits(53):016d}"[:16]} for _ in range(size)],
        }
        members += len(row["members"])
    return time.perf_counter() - started, members


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=1_000_000)
    args = parser.parse_args()
    count = args.households

    base_seconds, _ = _baseline(count)
    started = time.perf_counter()
    members = 0
    for row in generate_rows(count):
        members += len(row["members"])
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"households            {count:>12,}")
    print(f"members               {members:>12,}")
    print(f"generate_rows         {seconds:>12.1f} s  ({count / seconds:,.0f} households/s)")
    print(f"bare-dict baseline    {base_seconds:>12.1f} s")
    print(f"ratio to baseline     {seconds / base_seconds:>12.1f} x")
    print(f"peak memory (RSS)     {peak_mib:>12.0f} MiB  (streaming: does not grow with count)")


if __name__ == "__main__":
    main()
