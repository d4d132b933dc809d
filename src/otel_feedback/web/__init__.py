"""The feedback endpoint: from a browser click to the rated span (extra ``[web]``).

* :func:`create_app` — an ASGI app on Starlette; mount it in FastAPI or Starlette.
* :func:`create_wsgi_app` — the same endpoint as a WSGI app, for Flask or Django.
* ``otel-feedback serve`` — the endpoint alone, served by uvicorn, exporting through
  :func:`otel_feedback.configure`.

Each serves ``POST /feedback`` (one record or a list; answers as docs/DESIGN.md §10 says) and
``GET /feedback.js``, the browser client. Tokens must be signed (``OTEL_FEEDBACK_TOKEN_SECRET``
or ``secret=``) unless ``allow_unsigned=True``, and are refused past their maximum age.
"""

from otel_feedback.web.asgi import create_app
from otel_feedback.web.config import EndpointConfig, EndpointOptions, RequestLimits
from otel_feedback.web.core import FeedbackEndpoint
from otel_feedback.web.wsgi import FeedbackWSGIApp, create_wsgi_app

__all__ = [
    "EndpointConfig",
    "EndpointOptions",
    "FeedbackEndpoint",
    "FeedbackWSGIApp",
    "RequestLimits",
    "create_app",
    "create_wsgi_app",
]
