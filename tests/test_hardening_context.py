"""One ``using_session`` / ``using_user`` object shared by many tasks and threads at once.

Each entry keeps what it must undo in a context variable (per task, per thread), so no entry
can detach another's context, and none leaves its session attached after its block.
"""

from __future__ import annotations

import asyncio
import threading

from helpers_wire import Wire

import otel_feedback as fb


def test_one_object_entered_by_100_tasks_at_once_leaks_nothing(grpc_wire: Wire) -> None:
    shared = fb.using_session("shared-session", user_id="shared-user")
    tracer = grpc_wire.tracer
    all_inside = asyncio.Event()
    entered = 0

    async def task(index: int) -> tuple[str | None, str | None, str | None]:
        nonlocal entered
        async with shared:
            entered += 1
            if entered == 100:
                all_inside.set()
            await all_inside.wait()  # every task is inside the block at the same time
            inside = fb.current_session_id()
            with tracer.start_as_current_span(f"task-{index}"):
                await asyncio.sleep(0)
        return inside, fb.current_session_id(), fb.current_user_id()

    async def main() -> list[tuple[str | None, str | None, str | None]]:
        return await asyncio.gather(*(task(index) for index in range(100)))

    results = asyncio.run(main())
    assert results == [("shared-session", None, None)] * 100
    spans = grpc_wire.wait(100)
    assert {span.attributes.get("session.id") for span in spans} == {"shared-session"}
    assert fb.current_session_id() is None
    assert fb.diagnostics() == {}


def test_one_object_shared_by_threads_and_nested_in_each(grpc_wire: Wire) -> None:
    shared = fb.using_user("shared-user")
    barrier = threading.Barrier(16)
    after: list[tuple[str | None, str | None]] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        with fb.using_session(f"s-{index}"):
            with shared:
                barrier.wait()
                with shared:  # re-entered while every other thread is inside too
                    assert fb.current_user_id() == "shared-user"
                assert fb.current_user_id() == "shared-user"
                barrier.wait()
            state = (fb.current_session_id(), fb.current_user_id())
        with lock:
            after.append(state)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(after) == sorted((f"s-{index}", None) for index in range(16))


def test_a_shared_decorator_runs_each_call_in_its_own_entry() -> None:
    shared = fb.using_session("decorated")

    @shared
    async def handler(index: int) -> str | None:
        await asyncio.sleep(0)
        return fb.current_session_id()

    async def main() -> list[str | None]:
        results = await asyncio.gather(*(handler(index) for index in range(50)))
        return [*results, fb.current_session_id()]

    assert asyncio.run(main()) == ["decorated"] * 50 + [None]
