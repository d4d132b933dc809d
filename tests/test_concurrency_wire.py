"""16 threads and 1 000 asyncio tasks, each with its own session, spans and feedback:
on the wire every value is on its own task's spans and nothing crossed."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

import pytest
from helpers_wire import EVENT, Wire, WireFactory, hex_ids, only_event

import otel_feedback as fb
from otel_feedback.conventions import RECORD_KEYS
from otel_feedback.testing import ReceivedSpan

SPANS_PER_TASK = 4  # root, child, feedback under child (token), feedback under root (trace id)


def check_tasks(wire: Wire, keys: list[str]) -> None:
    spans = wire.wait(len(keys) * SPANS_PER_TASK, timeout=60)
    assert len(spans) == len(keys) * SPANS_PER_TASK, "no span duplicated or extra"
    by_trace: dict[str, list[ReceivedSpan]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    assert len(by_trace) == len(keys), "one trace per task"
    seen: set[str] = set()
    for trace_spans in by_trace.values():
        named = {span.name: span for span in trace_spans if span.name != "feedback"}
        assert len(named) == 2, [span.name for span in trace_spans]
        [root_name] = [name for name in named if name.startswith("root-")]
        key = root_name.removeprefix("root-")
        seen.add(key)
        root, child = named[f"root-{key}"], named[f"child-{key}"]
        for span in trace_spans:
            assert span.attributes["session.id"] == f"sess-{key}", (span.name, key)
            assert span.attributes["user.id"] == f"user-{key}", (span.name, key)
            for name, value in span.attributes.items():
                if name.startswith(("feedback.", "metadata.")) and name not in RECORD_KEYS:
                    assert value == key, (span.name, name, value, key)
        assert child.parent_span_id == root.span_id
        assert child.attributes["feedback.task"] == key
        assert child.attributes["feedback.live"] == key
        assert only_event(child).attributes["feedback.value"] == key
        assert root.attributes["metadata.task"] == key
        lates = {span.parent_span_id: span for span in trace_spans if span.name == "feedback"}
        assert set(lates) == {child.span_id, root.span_id}
        under_child, under_root = lates[child.span_id], lates[root.span_id]
        assert under_child.attributes["feedback.late"] == key
        assert only_event(under_child).attributes["gen_ai.evaluation.name"] == "late"
        assert only_event(under_child).attributes["feedback.value"] == key
        assert under_root.attributes["feedback.trace"] == key
        assert under_root.events_named(EVENT)[0].attributes["feedback.value"] == key
        for late, target in ((under_child, child), (under_root, root)):
            assert target.start_time_unix_nano <= late.start_time_unix_nano
            assert late.start_time_unix_nano <= target.end_time_unix_nano
    assert seen == set(keys)
    assert wire.processor.tracked_counts["open"] == 0


def test_sixteen_threads(wires: WireFactory) -> None:
    wire = wires("http", batch=True)
    tracer = wire.tracer
    per_thread = 8
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []
    keys = [f"t{thread}-{n}" for thread in range(16) for n in range(per_thread)]

    def conversation(key: str) -> None:
        with fb.using_session(f"sess-{key}", user_id=f"user-{key}"):
            with (
                tracer.start_as_current_span(f"root-{key}") as root,
                tracer.start_as_current_span(f"child-{key}"),
            ):
                fb.enrich_span(feedback={"task": key})
                fb.enrich_session(metadata={"task": key})
                assert fb.log_feedback("live", key, strict=True)
                token = fb.current_feedback_token(strict=True)
            assert fb.log_feedback("late", key, target=token, strict=True)
            assert fb.log_feedback("trace", key, trace_id=hex_ids(root)[0], strict=True)

    def worker(thread: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(per_thread):
                conversation(f"t{thread}-{n}")
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert wire.export_processor.force_flush(30_000)
    check_tasks(wire, keys)


@pytest.mark.parametrize("decorated", [False, True], ids=["async-with", "decorator"])
def test_thousand_asyncio_tasks(wires: WireFactory, decorated: bool) -> None:
    wire = wires("grpc", batch=True)
    tracer = wire.tracer
    keys = [f"a{i}" for i in range(1000)]

    async def body(key: str) -> None:
        with tracer.start_as_current_span(f"root-{key}") as root:
            await asyncio.sleep(0)
            with tracer.start_as_current_span(f"child-{key}"):
                await asyncio.sleep(0)
                fb.enrich_span(feedback={"task": key})
                await asyncio.sleep(0)
                fb.enrich_session(metadata={"task": key})
                await asyncio.sleep(0)
                assert fb.log_feedback("live", key, strict=True)
                token = fb.current_feedback_token(strict=True)
                await asyncio.sleep(0)
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert fb.log_feedback("late", key, target=token, strict=True)
        await asyncio.sleep(0)
        assert fb.log_feedback("trace", key, trace_id=hex_ids(root)[0], strict=True)

    async def with_block(key: str) -> None:
        async with fb.using_session(f"sess-{key}", user_id=f"user-{key}"):
            await body(key)

    async def with_decorator(key: str) -> None:
        @fb.using_session(f"sess-{key}", user_id=f"user-{key}")
        async def run() -> None:
            await body(key)

        await run()

    async def main() -> None:
        task = with_decorator if decorated else with_block
        await asyncio.gather(*(task(key) for key in keys))

    asyncio.run(main())
    assert wire.export_processor.force_flush(30_000)
    check_tasks(wire, keys)
