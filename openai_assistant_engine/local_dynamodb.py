"""An embedded DynamoDB for `oae serve` and `oae demo`: moto's server, in this process.

Used when the settings name no DynamoDB (no ``dynamodb_endpoint``, no region, no AWS
keys), so a developer can try the engine with nothing installed but the ``local`` extra.
The data lives in this process's memory and is gone when it exits.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from .config import Settings
from .errors import ConfigurationError

__all__ = ["EmbeddedDynamoDB", "wants_embedded_dynamodb"]

INSTALL_HINT = (
    "The embedded DynamoDB needs moto's server: pip install 'openai-assistant-engine[local]'. "
    "Or point the engine at a DynamoDB with the settings dynamodb_endpoint or region_name "
    "(in the environment or .env)."
)
# Any values sign requests to moto; real keys would only be a risk here.
_LOCAL_CREDENTIALS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
}


def wants_embedded_dynamodb(settings: Settings) -> bool:
    """True when the settings name no DynamoDB at all: no endpoint, region or keys."""
    return not (
        settings.dynamodb_endpoint
        or settings.region_name
        or settings.aws_access_key_id
        or settings.aws_secret_access_key
    )


class EmbeddedDynamoDB:
    """moto's DynamoDB server on 127.0.0.1 (a free port), with the engine's tables made."""

    def __init__(self, table_prefix: str = "oae-") -> None:
        self._table_prefix = table_prefix
        self._server: Any = None
        self.endpoint: str | None = None

    def start(self) -> EmbeddedDynamoDB:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise ConfigurationError(INSTALL_HINT) from exc
        # moto's web server logs every request; the engine logs its own lines.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        from .store.tables import create_tables

        create_tables(**self.settings())
        return self

    def settings(self) -> dict[str, str]:
        """The settings that point an engine at this DynamoDB."""
        if self.endpoint is None:
            raise RuntimeError("EmbeddedDynamoDB.start() first")
        return {
            **_LOCAL_CREDENTIALS,
            "dynamodb_endpoint": self.endpoint,
            "table_prefix": self._table_prefix,
        }

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmbeddedDynamoDB:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
