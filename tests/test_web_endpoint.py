"""POST /feedback over the ASGI app: every status docs/DESIGN.md §10 names, with its reason, and
what arrives at the OTLP receiver for the accepted ones."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from helpers_web import OTHER_SECRET, SECRET, Answer, answer, old_token, record
from helpers_wire import EVENT, Wire, only_event
from opentelemetry import trace
from starlette.testclient import TestClient

import otel_feedback as fb
from otel_feedback.web import RequestLimits, create_app


@pytest.fixture
def app_client(grpc_wire: Wire) -> Iterator[TestClient]:
    app = create_app(secret=SECRET, tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        yield client


def post(client: TestClient, body: Any, **kwargs: Any) -> Any:
    return client.post("/feedback", content=json.dumps(body), headers=_json(), **kwargs)


def _json() -> dict[str, str]:
    return {"content-type": "application/json"}


def refused(response: Any, status: int, error: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["error"] == error
    assert body["detail"]
    assert body.get("field") == field
    return body  # type: ignore[no-any-return]


# -- 202 ---------------------------------------------------------------------------------------


def test_one_record_arrives_on_the_rated_span(grpc_wire: Wire, app_client: TestClient) -> None:
    chat = answer(grpc_wire)
    response = post(
        app_client, record(chat.token, reason="spot on", label="good", kind="implicit")
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert body["duplicates"] == 0
    assert body["ids"] == [body["id"]]
    assert len(body["id"]) == 32
    feedback = grpc_wire.one("feedback")
    assert feedback.parent_span_id == chat.span_id
    assert feedback.trace_id == chat.trace_id
    assert feedback.attributes["feedback.thumbs_up"] is True
    assert feedback.attributes["session.id"] == "s-1"
    event = only_event(feedback, EVENT).attributes
    assert event["feedback.id"] == body["id"]
    assert event["feedback.source.type"] == "HUMAN"
    assert event["feedback.source.id"] == "web_ui"
    assert event["feedback.kind"] == "implicit"
    assert event["gen_ai.evaluation.explanation"] == "spot on"
    assert event["gen_ai.evaluation.score.label"] == "good"


def test_a_list_of_records_answers_ids_in_order(grpc_wire: Wire, app_client: TestClient) -> None:
    chat = answer(grpc_wire)
    records = [
        record(chat.token, name="rating", value=4),
        record(chat.token, name="comment", value="short and right"),
        record(chat.token, name="edits", value={"city": "Lyon", "tags": ["a", "b"]}),
    ]
    response = post(app_client, records)
    assert response.status_code == 202, response.text
    body = response.json()
    assert "id" not in body
    assert body["accepted"] == 3
    spans = grpc_wire.wait(3, predicate=lambda span: span.name == "feedback")
    by_id = {only_event(span).attributes["feedback.id"]: span for span in spans}
    assert set(by_id) == set(body["ids"])
    names = [only_event(by_id[i]).attributes["gen_ai.evaluation.name"] for i in body["ids"]]
    assert names == ["rating", "comment", "edits"]
    assert by_id[body["ids"][2]].attributes["feedback.edits.city"] == "Lyon"


def test_text_plain_is_accepted_for_beacons(grpc_wire: Wire, app_client: TestClient) -> None:
    chat = answer(grpc_wire)
    response = app_client.post(
        "/feedback",
        content=json.dumps(record(chat.token)),
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 202, response.text
    assert grpc_wire.one("feedback").parent_span_id == chat.span_id


def test_a_retry_with_the_same_id_is_recorded_once(
    grpc_wire: Wire, app_client: TestClient
) -> None:
    chat = answer(grpc_wire)
    client_id = "0123456789abcdef0123456789abcdef"
    first = post(app_client, record(chat.token, id=client_id))
    again = post(app_client, record(chat.token, id=client_id))
    assert first.status_code == again.status_code == 202
    assert again.json()["duplicates"] == 1
    assert again.json()["accepted"] == 0
    assert again.json()["id"] == first.json()["id"] == client_id
    feedback = grpc_wire.one("feedback")
    grpc_wire.provider.force_flush()
    assert len(grpc_wire.receiver.spans_named("feedback")) == 1
    assert only_event(feedback).attributes["feedback.id"] == client_id


def test_rotation_every_secret_verifies(grpc_wire: Wire) -> None:
    app = create_app(secret=["new-secret", SECRET], tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        signed_with_old = answer(grpc_wire, SECRET)
        signed_with_new = answer(grpc_wire, "new-secret")
        for chat in (signed_with_old, signed_with_new):
            assert post(client, record(chat.token)).status_code == 202
        foreign = answer(grpc_wire, OTHER_SECRET)
        refused(post(client, record(foreign.token)), 401, "invalid_token", "token")


# -- 400 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe{}",
        b'{"token": "x", "name": "n", "value": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"value": ' + b"9" * 5000 + b"}",
    ],
    ids=["syntax", "empty", "not-utf8", "nan", "deep-100000", "huge-integer"],
)
def test_malformed_json_is_400(grpc_wire: Wire, body: bytes) -> None:
    limits = RequestLimits(max_body_bytes=400_000)
    app = create_app(secret=SECRET, tracer_provider=grpc_wire.provider, limits=limits)
    with TestClient(app) as client:
        response = client.post("/feedback", content=body, headers=_json())
    refused(response, 400, "malformed_json")


# -- 401 ---------------------------------------------------------------------------------------


def _flip(token: str, index: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    char = token[index]
    return token[:index] + alphabet[(alphabet.index(char) + 1) % 64] + token[index + 1 :]


def _attacks(chat: Answer, wire: Wire) -> dict[str, str]:
    unsigned = fb.FeedbackToken(int(chat.trace_id, 16), int(chat.span_id, 16), 1).encode()
    return {
        "unsigned": unsigned,
        "altered-span": _flip(chat.token, 30),
        "altered-signature": _flip(chat.token, len(chat.token) - 2),
        "foreign-secret": answer(wire, OTHER_SECRET).token,
        "truncated": chat.token[:-6],
        "truncated-header": chat.token[:20],
        "forged-random": "A" * 60,
    }


def test_forged_altered_foreign_truncated_and_unsigned_tokens_are_401(
    grpc_wire: Wire, app_client: TestClient
) -> None:
    chat = answer(grpc_wire)
    for name, token in _attacks(chat, grpc_wire).items():
        body = refused(post(app_client, record(token)), 401, "invalid_token", "token")
        assert "token" in body["detail"], name
    # The server is unharmed: the genuine token still works, and nothing was recorded before.
    assert post(app_client, record(chat.token)).status_code == 202
    grpc_wire.wait_named("feedback")
    grpc_wire.provider.force_flush()
    assert len(grpc_wire.receiver.spans_named("feedback")) == 1


def test_a_bad_token_in_a_list_refuses_the_whole_request(
    grpc_wire: Wire, app_client: TestClient
) -> None:
    chat = answer(grpc_wire)
    response = post(app_client, [record(chat.token), record(_flip(chat.token, 30))])
    refused(response, 401, "invalid_token", "[1].token")
    grpc_wire.provider.force_flush()
    assert grpc_wire.receiver.spans_named("feedback") == []


def test_no_secret_refuses_to_start_unless_allowed(grpc_wire: Wire) -> None:
    with pytest.raises(fb.ConfigurationError, match="OTEL_FEEDBACK_TOKEN_SECRET"):
        create_app(tracer_provider=grpc_wire.provider)
    app = create_app(allow_unsigned=True, tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        chat = answer(grpc_wire, secret="")
        assert post(client, record(chat.token)).status_code == 202
        refused(post(client, record("AAAA")), 422, "invalid_field", "token")


def test_secret_from_the_environment(
    grpc_wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_TOKEN_SECRET", f"rotated-in, {SECRET}")
    fb.settings.reload_settings()
    app = create_app(tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        assert post(client, record(answer(grpc_wire, SECRET).token)).status_code == 202
        refused(post(client, record(answer(grpc_wire, OTHER_SECRET).token)), 401,
                "invalid_token", "token")


# -- 410 ---------------------------------------------------------------------------------------


def test_a_token_past_its_maximum_age_is_410(grpc_wire: Wire) -> None:
    app = create_app(secret=SECRET, max_age=3600, tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        body = refused(post(client, record(old_token(grpc_wire, 7200))), 410, "token_expired",
                       "token")
        assert "3600" in body["detail"]
        assert post(client, record(old_token(grpc_wire, 60))).status_code == 202
        # An expired token that is also forged is a 401: the signature is checked first.
        forged = _flip(old_token(grpc_wire, 7200), 30)
        refused(post(client, record(forged)), 401, "invalid_token", "token")


def test_max_age_from_the_environment(grpc_wire: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_TOKEN_MAX_AGE", "100")
    fb.settings.reload_settings()
    app = create_app(secret=SECRET, tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        refused(post(client, record(old_token(grpc_wire, 200))), 410, "token_expired", "token")


# -- 413 ---------------------------------------------------------------------------------------


def test_a_1mb_token_is_413(app_client: TestClient) -> None:
    refused(post(app_client, record("A" * 1_000_000)), 413, "body_too_large")


def test_a_large_body_without_content_length_is_413(app_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"token": "'
        for _ in range(100):
            yield b"A" * 1024
        yield b'"}'

    response = app_client.post("/feedback", content=chunks(), headers=_json())
    refused(response, 413, "body_too_large")


def test_too_many_records_is_413(grpc_wire: Wire, app_client: TestClient) -> None:
    chat = answer(grpc_wire)
    refused(post(app_client, [record(chat.token)] * 51), 413, "too_many_records")


# -- 415 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_other_content_types_are_415(
    grpc_wire: Wire, app_client: TestClient, content_type: str | None
) -> None:
    chat = answer(grpc_wire)
    headers = {"content-type": content_type} if content_type else {}
    response = app_client.post("/feedback", content=json.dumps(record(chat.token)),
                               headers=headers)
    refused(response, 415, "unsupported_media_type")


# -- 422 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"name": "bad name"}, "name"),
        ({"name": "a..b"}, "name"),
        ({"value": None}, "value"),
        ({"reason": 5}, "reason"),
        ({"reason": "r" * 4097}, "reason"),
        ({"label": ["x"]}, "label"),
        ({"kind": "sideways"}, "kind"),
        ({"id": "not-hex"}, "id"),
        ({"id": "0" * 32}, "id"),
        ({"id": "ABCDEF0123456789ABCDEF0123456789"}, "id"),
        ({"reasn": "typo"}, "reasn"),
        ({"value": {"": 1}}, "value"),
        ({"value": "\ud800"}, "value"),
        ({"token": 12}, "token"),
    ],
)
def test_an_invalid_field_is_422_and_named(
    grpc_wire: Wire, app_client: TestClient, change: dict[str, Any], field: str
) -> None:
    chat = answer(grpc_wire)
    refused(post(app_client, record(chat.token, **change)), 422, "invalid_field", field)


def test_100_levels_of_nesting_in_a_value_is_422(grpc_wire: Wire, app_client: TestClient) -> None:
    chat = answer(grpc_wire)
    value: Any = 1
    for _ in range(100):
        value = {"a": value}
    body = refused(post(app_client, record(chat.token, value=value)), 422, "invalid_field",
                   "value")
    assert "nested" in body["detail"]
    value = 1
    for _ in range(100):
        value = [value]
    refused(post(app_client, record(chat.token, value=value)), 422, "invalid_field", "value")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"a.b": 1, "a": {"b": 2}}, "given twice"),
        ([[[1]]], "depth limit"),
        ({str(i): i for i in range(300)}, "attributes"),
    ],
    ids=["conflict", "arrays-past-the-limit", "too-many-keys"],
)
def test_what_the_library_would_repair_is_422(
    grpc_wire: Wire, app_client: TestClient, value: Any, says: str
) -> None:
    chat = answer(grpc_wire)
    body = refused(post(app_client, record(chat.token, value=value)), 422, "invalid_field",
                   "value")
    assert says in body["detail"]


def test_a_span_that_was_not_sampled_is_acknowledged_not_recorded(
    grpc_wire: Wire, app_client: TestClient
) -> None:
    chat = answer(grpc_wire)
    token = fb.parse_feedback_token(chat.token, secret=SECRET)
    unsampled = fb.FeedbackToken(token.trace_id, token.span_id, token.issued_at_ns,
                                 sampled=False).encode(SECRET)
    response = post(app_client, [record(unsampled, id="d" * 32), record(chat.token)])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["not_sampled"] == 1
    assert body["accepted"] == 1
    assert body["ids"][0] == "d" * 32
    grpc_wire.one("feedback")
    grpc_wire.provider.force_flush()
    assert len(grpc_wire.receiver.spans_named("feedback")) == 1


def test_a_record_that_is_not_an_object_is_422(app_client: TestClient) -> None:
    refused(post(app_client, ["x"]), 422, "invalid_field", "[0]")
    refused(post(app_client, "x"), 422, "invalid_body")
    refused(post(app_client, []), 422, "invalid_body")


def test_header_and_log_injection_in_names_is_refused(
    grpc_wire: Wire, app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    chat = answer(grpc_wire)
    evil = "ok\r\nSet-Cookie: session=stolen\r\n\r\n<script>"
    caplog.set_level(logging.DEBUG, logger="otel_feedback")
    response = post(app_client, record(chat.token, name=evil))
    body = refused(response, 422, "invalid_field", "name")
    assert "set-cookie" not in {name.lower() for name in response.headers}
    assert "\r" not in response.text
    assert "\n" not in response.text
    assert "\\r\\n" in body["detail"]
    for message in caplog.messages:
        assert "\n" not in message
        assert "\r" not in message
    # An unknown field named like a header is shown escaped too.
    response = post(app_client, {**record(chat.token), evil: 1})
    body = refused(response, 422, "invalid_field", json.dumps(evil[:40])[1:-1])
    assert "\r" not in response.text


# -- 429 ---------------------------------------------------------------------------------------


def test_rate_limit_per_client_is_429_with_retry_after(grpc_wire: Wire) -> None:
    app = create_app(secret=SECRET, rate_limit=3, tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        chat = answer(grpc_wire)
        statuses = [post(client, record(chat.token)).status_code for _ in range(3)]
        assert statuses == [202] * 3
        response = post(client, record(chat.token))
        refused(response, 429, "rate_limited")
        assert int(response.headers["retry-after"]) >= 1


def test_rate_limit_per_token_is_429(grpc_wire: Wire) -> None:
    app = create_app(secret=SECRET, token_rate_limit=2, tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        busy, other = answer(grpc_wire), answer(grpc_wire)
        assert post(client, [record(busy.token), record(busy.token)]).status_code == 202
        body = refused(post(client, record(busy.token)), 429, "rate_limited")
        assert "one answer" in body["detail"]
        assert post(client, record(other.token)).status_code == 202


# -- CORS --------------------------------------------------------------------------------------


def _preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/feedback",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )


def test_cors_listed_origins_only(grpc_wire: Wire) -> None:
    listed = "https://chat.example.com"
    app = create_app(secret=SECRET, cors_origins=[listed], tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        ok = _preflight(client, listed)
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == listed
        assert "POST" in ok.headers["access-control-allow-methods"]
        evil = _preflight(client, "https://evil.example.net")
        refused(evil, 403, "origin_not_allowed")
        assert "access-control-allow-origin" not in evil.headers
        chat = answer(grpc_wire)
        posted = client.post("/feedback", content=json.dumps(record(chat.token)),
                             headers={**_json(), "origin": "https://evil.example.net"})
        refused(posted, 403, "origin_not_allowed")
        posted = client.post("/feedback", content=json.dumps(record(chat.token)),
                             headers={**_json(), "origin": listed})
        assert posted.status_code == 202
        assert posted.headers["access-control-allow-origin"] == listed
        # The page's own origin needs no listing.
        same = client.post("/feedback", content=json.dumps(record(chat.token)),
                           headers={**_json(), "origin": "http://testserver"})
        assert same.status_code == 202
        assert "access-control-allow-origin" not in same.headers


def test_cors_never_star_by_default(grpc_wire: Wire) -> None:
    with pytest.raises(fb.ConfigurationError, match=r"\*"):
        create_app(secret=SECRET, cors_origins=["*"])
    app = create_app(secret=SECRET, tracer_provider=grpc_wire.provider)
    with TestClient(app) as client:
        response = _preflight(client, "https://anywhere.example")
        refused(response, 403, "origin_not_allowed")


# -- 503 ---------------------------------------------------------------------------------------


def test_no_sdk_provider_is_503_not_500(grpc_wire: Wire) -> None:
    app = create_app(secret=SECRET, tracer_provider=trace.NoOpTracerProvider())
    with TestClient(app) as client:
        chat = answer(grpc_wire)
        body = refused(post(client, record(chat.token, id="c" * 32)), 503, "not_configured")
        assert "cannot record" in body["detail"]
        # The id was released: a retry once the server can record is not a duplicate.
        assert len(app.state.feedback_endpoint.idempotency) == 0


# -- the script and other paths ----------------------------------------------------------------


def test_feedback_js_is_served_and_cached(app_client: TestClient) -> None:
    response = app_client.get("/feedback.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert b"sendBeacon" in response.content
    again = app_client.get("/feedback.js", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304


def test_other_methods_and_paths_answer_json(app_client: TestClient) -> None:
    assert app_client.get("/feedback").status_code == 405
    missing = app_client.get("/nothing")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
