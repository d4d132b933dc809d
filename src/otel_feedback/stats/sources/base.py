"""What every source shares: its error type and the parsed source URL."""

from __future__ import annotations

from dataclasses import dataclass


class SourceError(Exception):
    """A source cannot be read; ``code`` is the exit code the command returns (1 or 2)."""

    def __init__(self, message: str, *, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SourceURL:
    """``file:PATH``, ``phoenix://HOST:PORT[/PROJECT]`` or ``clickhouse://HOST:PORT/DB``."""

    scheme: str
    host: str = ""
    port: int | None = None
    path: str = ""
    """The file path, the Phoenix project or the ClickHouse database."""
    options: tuple[tuple[str, str], ...] = ()
    """Query-string options (``table=otel_traces``)."""
    username: str | None = None
    password: str | None = None

    def option(self, name: str, default: str) -> str:
        """The value of query option ``name``, else ``default``."""
        return next((value for key, value in self.options if key == name), default)

    @property
    def address(self) -> str:
        """``host:port`` as given, for messages."""
        return f"{self.host}:{self.port}" if self.port else self.host
