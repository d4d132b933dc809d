"""Run ``phoenix serve`` with its OTLP/gRPC server bound to ``PHOENIX_HOST`` only.

Phoenix binds its HTTP server to ``PHOENIX_HOST`` but hard-codes ``[::]`` (every interface)
for OTLP/gRPC. Tests and the demo must listen on 127.0.0.1 only, so this launcher, run by the
Phoenix virtualenv's python, rewrites that one address before handing over to Phoenix's own
``main``. Usage: ``<phoenix-venv>/bin/python phoenix_loopback.py serve``.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _loopback(address: str) -> str:
    host = os.environ.get("PHOENIX_HOST", "127.0.0.1")
    if address.startswith("[::]:"):
        return f"{host}:{address.rsplit(':', 1)[1]}"
    return address


def _patch_grpc() -> None:
    from grpc.aio import _server  # noqa: PLC0415 - only inside the Phoenix virtualenv

    insecure, secure = _server.Server.add_insecure_port, _server.Server.add_secure_port

    def add_insecure_port(self: Any, address: str) -> int:
        return insecure(self, _loopback(address))

    def add_secure_port(self: Any, address: str, credentials: Any) -> int:
        return secure(self, _loopback(address), credentials)

    _server.Server.add_insecure_port = add_insecure_port  # type: ignore[method-assign]
    _server.Server.add_secure_port = add_secure_port  # type: ignore[method-assign]


if __name__ == "__main__":
    _patch_grpc()
    from phoenix.server.main import main

    sys.argv[0] = "phoenix"
    sys.exit(main())
