"""The bounds on long work, on their own: fair turns between callers, cancellation, refusals."""

from __future__ import annotations

import asyncio

from mailfleet.daemon.admission import FairLimiter, LongWork


async def test_a_freed_place_goes_to_each_waiting_caller_in_turn():
    limiter, order, release = FairLimiter(total=2, per_key=2), [], asyncio.Event()

    async def work(key: str, n: int) -> None:
        async with limiter.slot(key):
            order.append(f"{key}{n}")
            await release.wait()

    tasks = [asyncio.create_task(work("mallory", n)) for n in range(6)]  # queued first, and many
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(work("bob", n)) for n in range(2)]
    await asyncio.sleep(0)
    assert order == ["mallory0", "mallory1"]
    release.set()
    await asyncio.gather(*tasks)
    # In turn: Mallory's next, then Bob's first; a plain queue would have put Bob behind all six.
    assert order[2:4] == ["mallory2", "bob0"], order


async def test_no_caller_holds_more_than_its_share_and_a_cancelled_waiter_is_skipped():
    limiter, hold = FairLimiter(total=4, per_key=1), asyncio.Event()
    running: list[str] = []

    async def work(key: str) -> None:
        async with limiter.slot(key):
            running.append(key)
            await hold.wait()

    first = asyncio.create_task(work("a"))
    second = asyncio.create_task(work("a"))
    other = asyncio.create_task(work("b"))
    await asyncio.sleep(0)
    assert sorted(running) == ["a", "b"], "a second place for 'a' would exceed its share"
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    hold.set()
    await asyncio.gather(first, other)
    async with limiter.slot("a"):  # nothing leaked: the cancelled waiter gave its turn back
        pass


def test_long_work_is_refused_past_the_callers_share_and_the_total():
    work = LongWork(total=3, per_caller=2)
    assert work.admit("a") is None and work.admit("a") is None
    assert "max_long_requests_per_user" in work.admit("a")
    assert work.admit("b") is None
    assert "max_long_requests" in work.admit("c")
    work.done("a")
    assert work.admit("c") is None and work.in_flight() == 3 and work.in_flight("a") == 1
