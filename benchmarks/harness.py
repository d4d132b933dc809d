"""A small interleaved, paired benchmark harness (standard library only).

The machine these benchmarks run on is shared and its speed drifts by tens of percent
within seconds, so absolute times mean little. What is robust is a *paired ratio*: every
round runs each variant once, back to back, in a short burst (a few milliseconds), the
order rotated from round to round, and the result is the **median over rounds of the
per-round ratio**. Drift that is slow compared with one round cancels out of each ratio;
the median discards rounds hit by a burst of load; rotating the order removes any
first/second position bias.

Within a round each variant runs in several short *passes* (the order reversed every other
pass), and its round time is its fastest pass: interference (preemption, another tenant's
burst) only ever adds time, so the minimum of back-to-back passes is the least disturbed
estimate, while drift slower than a round is shared by all variants and cancels in the
ratio. With this, two identical variants come out within a few thousandths of 1.00.

A variant is a callable ``run(n) -> nanoseconds`` that does the operation ``n`` times and
returns the elapsed time measured with :func:`time.perf_counter_ns` around its own loop,
so call overhead of the harness is not part of the measurement. Garbage collection is
switched off while a variant runs (and a collection is done between rounds), so a
collection triggered by one variant's garbage is not billed to the next.
"""

from __future__ import annotations

import gc
import itertools
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

Variant = Callable[[int], int]
"""``run(n)``: do the operation ``n`` times, return the elapsed nanoseconds."""


@dataclass
class Rounds:
    """Per-round nanoseconds per operation, for each variant (same index = same round)."""

    ns_per_op: dict[str, list[float]]
    n: dict[str, int]
    seconds: float
    orders: list[list[str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(next(iter(self.ns_per_op.values())))

    def median_ns(self, name: str) -> float:
        return statistics.median(self.ns_per_op[name])

    def ratios(self, numerator: str, denominator: str) -> list[float]:
        """Per-round ``numerator / denominator``."""
        return [
            a / b
            for a, b in zip(self.ns_per_op[numerator], self.ns_per_op[denominator], strict=True)
        ]

    def added_ratios(self, numerator: str, denominator: str, base: str) -> list[float]:
        """Per-round ``(numerator - base) / (denominator - base)``: ratio of *added* costs.

        Rounds where the denominator's added cost is not positive (pure noise) are skipped.
        """
        out: list[float] = []
        for a, b, c in zip(
            self.ns_per_op[numerator],
            self.ns_per_op[denominator],
            self.ns_per_op[base],
            strict=True,
        ):
            if b - c > 0:
                out.append((a - c) / (b - c))
        return out


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles and a 95% confidence interval of the median (order statistics)."""
    ordered = sorted(values)
    size = len(ordered)
    if size == 0:
        return {
            "median": math.nan,
            "p25": math.nan,
            "p75": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "rounds": 0,
        }
    quartiles = statistics.quantiles(ordered, n=4) if size >= 2 else [ordered[0]] * 3
    # Distribution-free CI of the median: ranks n/2 -+ 1.96*sqrt(n)/2.
    half_width = 1.96 * math.sqrt(size) / 2
    low = max(0, math.floor(size / 2 - half_width))
    high = min(size - 1, math.ceil(size / 2 + half_width) - 1)
    return {
        "median": statistics.median(ordered),
        "p25": quartiles[0],
        "p75": quartiles[2],
        "ci_low": ordered[low],
        "ci_high": ordered[high],
        "rounds": size,
    }


def _timed(run: Variant, n: int) -> int:
    gc.disable()
    try:
        return run(n)
    finally:
        gc.enable()


def size_for(run: Variant, target_ns: int, *, start: int = 1, limit: int = 1_000_000) -> int:
    """How many operations make one call of ``run`` last about ``target_ns``."""
    n = start
    _timed(run, n)  # warm: a first call pays for cold caches and lazy set-up
    while True:
        elapsed = max(1, _timed(run, n))
        if elapsed >= target_ns / 4 or n >= limit:
            return max(1, min(limit, round(n * target_ns / elapsed)))
        n *= 4


def interleave(
    variants: Mapping[str, Variant],
    *,
    rounds: int,
    round_ms: float = 3.0,
    warmup_rounds: int = 5,
    n: Mapping[str, int] | int | None = None,
    same_n: bool = True,
    passes: int = 1,
    reduce: str = "min",
    collect_between: bool = True,
    on_round: Callable[[int, dict[str, int]], None] | None = None,
) -> Rounds:
    """Run ``rounds`` rounds; each runs every variant once, in a rotated order.

    ``n`` (operations per call) is worked out so one call of the *slowest* variant lasts
    about ``round_ms`` (``same_n``: the same ``n`` for all, so paired calls do the same
    work), unless given. With ``passes`` > 1 a round is that many back-to-back passes over
    the variants (``n`` operations each, the order reversed every other pass) and a variant's round
    time is the fastest of its passes (``reduce="min"``: a pass hit by preemption or another
    tenant's burst only ever gets slower, so the minimum of a few back-to-back passes is the
    least disturbed estimate; drift slower than a round is common to all variants and
    cancels in the paired ratio) or their sum (``reduce="sum"``).
    ``on_round(index, n)`` runs after each round, untimed (checks).
    """
    names = list(variants)
    if n is None:
        target = int(round_ms * 1e6 / passes)
        sizes = {name: size_for(variants[name], target) for name in names}
        if same_n:
            smallest = min(sizes.values())
            sizes = dict.fromkeys(names, smallest)
    elif isinstance(n, int):
        sizes = dict.fromkeys(names, n)
    else:
        sizes = dict(n)
    result: dict[str, list[float]] = {name: [] for name in names}
    orders: list[list[str]] = []
    started = time.perf_counter()
    # Every order in turn (all permutations): each variant runs in each position, and
    # after each other variant, equally often. Plain rotation is not enough: it always
    # puts the same variant before a given one, and what ran just before (caches, the
    # allocator) measurably biased identical variants by 2-5%.
    orders_cycle = [list(p) for p in itertools.permutations(names)]
    for index in range(-warmup_rounds, rounds):
        order = orders_cycle[index % len(orders_cycle)]
        timings: dict[str, int] = {}
        for step in range(passes):
            for name in order if step % 2 == 0 else reversed(order):
                elapsed = _timed(variants[name], sizes[name])
                if reduce == "sum":
                    timings[name] = timings.get(name, 0) + elapsed
                else:
                    timings[name] = min(timings.get(name, elapsed), elapsed)
        if on_round is not None:
            on_round(index, sizes)
        if collect_between:
            gc.collect()
        if index < 0:
            continue
        orders.append(order)
        for name in names:
            count = sizes[name] * (passes if reduce == "sum" else 1)
            result[name].append(timings[name] / count)
    return Rounds(result, sizes, time.perf_counter() - started, orders)


def fit_exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    """Least-squares slope of log(time) against log(size): 1.0 means linear."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in times]
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mean_x) ** 2 for x in xs)
    return num / den
