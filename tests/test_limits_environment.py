"""Depth limits for every helper come from the environment, read once on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = (
    "import json, otel_feedback as fb\n"
    "limits = fb.FlattenLimits.from_settings()\n"
    "print(json.dumps([limits.max_object_depth, limits.max_array_depth,"
    " fb.flatten({'a': {'b': {'c': 1}}, 'm': [[1]]}, 'f')]))\n"
)


def _probe(**env: str) -> tuple[list[object], str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_FEEDBACK_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout), result.stderr


def test_defaults_without_environment() -> None:
    (objects, arrays, flat), _ = _probe()
    assert (objects, arrays) == (5, 2)
    assert flat == {"f.a.b.c": 1, "f.m.0": [1]}


def test_environment_sets_the_depths() -> None:
    (objects, arrays, flat), _ = _probe(
        OTEL_FEEDBACK_MAX_OBJECT_DEPTH="1", OTEL_FEEDBACK_MAX_ARRAY_DEPTH="0"
    )
    assert (objects, arrays) == (1, 0)
    assert flat == {"f.a.b": '{"c":1}', "f.m": "[[1]]"}


@pytest.mark.parametrize("bad", ["x", "-1", "2.5"])
def test_invalid_environment_keeps_defaults_and_says_so(bad: str) -> None:
    (objects, arrays, _flat), stderr = _probe(OTEL_FEEDBACK_MAX_OBJECT_DEPTH=bad)
    assert (objects, arrays) == (5, 2)
    assert "OTEL_FEEDBACK_MAX_OBJECT_DEPTH" in stderr
    assert "using 5" in stderr
