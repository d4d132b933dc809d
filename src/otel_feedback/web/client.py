"""The browser client, ``feedback.js``: shipped as a file in the package, served as is.

No build step: the file in ``static/`` is what browsers run. It is read once and kept.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources


@functools.cache
def script_source() -> bytes:
    """The bytes of ``feedback.js``."""
    return resources.files("otel_feedback.web").joinpath("static/feedback.js").read_bytes()


@functools.cache
def script_etag() -> str:
    """A strong ``ETag`` for the script (its content hash)."""
    return '"' + hashlib.sha256(script_source()).hexdigest()[:32] + '"'
