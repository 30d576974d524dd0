"""The HTTP service against a real ``segengine serve`` process on loopback, driven with httpx:
every status of the seed and of SPEC section 2 (200, 400, 401, 403, 413, 415, 422, 429, 500, 503),
bodies identical to ``handle_request``, gzip both ways, en/es/pt, limits per tenant, logs."""

from __future__ import annotations

import copy
import gzip
import json
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest

from segengine import handle_request
from segengine.datasets import load_demo_customers

from service_helpers import MAX_BODY, ROOT


def _blob_records(n: int = 60) -> list[dict]:
    records, _ = load_demo_customers(n=n, random_state=1)
    return records


def _without_timings(body: dict) -> dict:
    body = copy.deepcopy(body)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        meta.pop("processing_time_ms", None)
        meta.pop("timings_ms", None)
    return body


def _post(server, key, content: bytes, timeout: float = 60.0, **headers: str) -> httpx.Response:
    return httpx.post(server.endpoint, content=content, headers=key.headers(**headers), timeout=timeout)


# ------------------------------------------------------------------------------ 200 and the contract


def test_seed_curl_example_with_demo_customers_answers_200(service):
    # The seed's curl example, headers as written there, with the demo customers as data.
    key = service.keys["main"]
    records, _ = load_demo_customers(n=1000)
    payload = {"data": records, "options": {}, "include_metadata": True}
    body = json.dumps(payload).encode()
    response = httpx.post(service.endpoint, content=body, timeout=60.0, headers={
        "Authorization": f"Bearer {key.token}",
        "X-Customer-Api-Id": key.tenant,
        "X-Secret": key.secret,
        "Accept-Language": "en",
        "Content-Type": "application/json",
    })
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    got = response.json()
    assert len(got["results"]) == 1000 and got["results"][0]["id"] == records[0]["id"]
    assert got["metadata"]["model_version"] and got["metadata"]["processing_time_ms"] >= 0
    status, expected = handle_request(body, {"Accept-Language": "en"})
    assert status == 200
    assert _without_timings(got) == _without_timings(expected)


@pytest.mark.parametrize("body", [
    b"not json",
    b'{"data": []}',
    b"[1, 2, 3]",
    b'{"data": [1, 2, 3]}',
    b'{"options": {}}',
    b'{"data": [{"id": "a", "v": 1}, {"id": "b", "v": "x"}, {"id": "c", "v": 3}]}',
    b'{"data": [{"id": "a", "v": 1}, {"id": "b", "v": 2}, {"id": "c", "v": 3}], "options": {"k_mx": 3}}',
    b'{"data": [{"id": "a", "v": NaN}, {"id": "b", "v": Infinity}, {"id": "c", "v": 3}]}',
    b'\xef\xbb\xbf{"data": []}',
    b'{"data": [], "data": [{"v": 1}, {"v": 2}]}',
    b'{"data": [{"v": 123456789012345678901234567890}, {"v": 2}, {"v": 3}]}',
    b'{"data": "\xff\xfe"}',
])
@pytest.mark.parametrize("language", ["en", "es", "pt-BR,pt;q=0.9"])
def test_library_answers_pass_through_unchanged(service, body, language):
    response = _post(service, service.keys["main"], body, **{"Accept-Language": language})
    status, expected = handle_request(body, {"Accept-Language": language})
    assert response.status_code == status
    assert response.json() == expected


@pytest.mark.parametrize("language, expected_language", [("en", "en"), ("es-MX,es;q=0.9", "es"),
                                                          ("pt-BR,pt;q=0.9,en;q=0.8", "pt"), ("de", "en")])
def test_three_languages(service, language, expected_language):
    body = json.dumps({"data": _blob_records(), "options": {"k_max": 4}}).encode()
    response = _post(service, service.keys["main"], body, **{"Accept-Language": language})
    assert response.status_code == 200
    _, expected = handle_request(body, {"Accept-Language": expected_language})
    assert response.json() == expected
    names = [s["name"] for s in response.json()["segments"]]
    if expected_language != "en":
        _, english = handle_request(body, {"Accept-Language": "en"})
        assert names != [s["name"] for s in english["segments"]]


# ------------------------------------------------------------------------------ 401 / 403


@pytest.mark.parametrize("authorization",
                         [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-known-token-0123456789abcdef"])
def test_401_without_a_valid_bearer_token(service, authorization):
    key = service.keys["main"]
    headers = key.headers()
    headers.pop("Authorization")
    if authorization is not None:
        headers["Authorization"] = authorization
    response = httpx.post(service.endpoint, content=b'{"data": []}', headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"] == "Unauthorized" and set(body["details"]) == {"headers.Authorization"}
    assert key.secret not in response.text and "not-a-known-token" not in response.text
    headers["Accept-Language"] = "pt-BR"
    portuguese = httpx.post(service.endpoint, content=b'{"data": []}', headers=headers).json()
    assert portuguese["error"] == "Unauthorized" and portuguese["message"] == "É necessário um token bearer válido."


def test_403_on_tenant_or_secret_mismatch(service):
    key, other = service.keys["main"], service.keys["other"]
    cases = [
        key.headers(**{"X-Secret": other.secret}),                  # another key's secret
        key.headers(**{"X-Secret": "x" * 64}),                      # a wrong secret
        key.headers(**{"X-Customer-Api-Id": other.tenant}),         # another (existing) tenant
        key.headers(**{"X-Customer-Api-Id": "7b0e6b1e-0000-4000-8000-000000000000"}),  # no such tenant
        key.headers(**{"X-Customer-Api-Id": "not-a-uuid"}),
    ]
    no_secret = key.headers()
    no_secret.pop("X-Secret")
    cases.append(no_secret)
    for headers in cases:
        response = httpx.post(service.endpoint, content=b'{"data": []}', headers=headers)
        assert response.status_code == 403, headers
        assert response.json()["error"] == "Forbidden"
        assert key.secret not in response.text and other.secret not in response.text


def test_default_tenant_makes_the_tenant_headers_optional(service):
    body = json.dumps({"data": _blob_records(), "options": {"k_max": 3}}).encode()
    default = service.keys["default"]
    headers = default.headers()
    del headers["X-Customer-Api-Id"], headers["X-Secret"]
    assert httpx.post(service.endpoint, content=body, headers=headers, timeout=60).status_code == 200
    # Another tenant's token without the headers is not the default tenant's.
    headers = service.keys["main"].headers()
    del headers["X-Customer-Api-Id"], headers["X-Secret"]
    assert httpx.post(service.endpoint, content=body, headers=headers).status_code == 403


# ------------------------------------------------------------------------------ 413 / 415 / 400 gzip


def test_413_when_content_length_is_over_the_limit(service):
    body = b'{"data": [' + b" " * MAX_BODY + b"]}"
    response = _post(service, service.keys["main"], body)
    assert response.status_code == 413
    assert response.json()["error"] == "Payload too large" and "body" in response.json()["details"]


def test_413_while_streaming_without_content_length(service):
    sent = []

    def chunks():
        chunk = b" " * 65536
        for _ in range(MAX_BODY // len(chunk) + 64):
            sent.append(len(chunk))
            yield chunk

    try:
        response = httpx.post(service.endpoint, content=chunks(), headers=service.keys["main"].headers())
    except httpx.HTTPError:  # the server may close the connection while we are still sending
        pytest.fail("the server should answer 413 before the client finished sending")
    assert response.status_code == 413
    assert "content-length" not in response.request.headers


def test_413_for_a_gzip_bomb(service):
    bomb = gzip.compress(b'{"data": [' + b" " * (MAX_BODY + 1) + b"]}", compresslevel=9)
    assert len(bomb) < MAX_BODY // 100
    response = _post(service, service.keys["main"], bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.json()["error"] == "Payload too large"


def test_400_for_a_truncated_or_corrupt_gzip_stream(service):
    whole = gzip.compress(json.dumps({"data": _blob_records()}).encode())
    for body in (whole[: len(whole) // 2], b"\x1f\x8b" + b"garbage" * 10):
        response = _post(service, service.keys["main"], body, **{"Content-Encoding": "gzip"})
        assert response.status_code == 400
        assert response.json()["error"] == "Invalid format"


@pytest.mark.parametrize("headers", [{"Content-Encoding": "br"}, {"Content-Encoding": "deflate"},
                                     {"Content-Encoding": "gzip, gzip"}, {"Content-Type": "text/plain"},
                                     {"Content-Type": "application/x-www-form-urlencoded"}])
def test_415_for_other_encodings_and_types(service, headers):
    response = _post(service, service.keys["main"], b'{"data": []}', **headers)
    assert response.status_code == 415
    assert response.json()["error"] == "Unsupported media type"


def test_gzip_request_and_gzip_response(service):
    body = json.dumps({"data": _blob_records(300), "options": {"k_max": 4}}).encode()
    _, expected = handle_request(body, {})
    with httpx.Client() as client:
        zipped = client.post(service.endpoint, content=gzip.compress(body), timeout=60,
                             headers=service.keys["main"].headers(
                                 **{"Content-Encoding": "gzip", "Accept-Encoding": "gzip"}))
        plain = client.post(service.endpoint, content=body, timeout=60, headers=service.keys["main"].headers(
            **{"Accept-Encoding": "identity"}))
    assert zipped.status_code == plain.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert zipped.json() == plain.json() == expected


# ------------------------------------------------------------------------------ 429


def test_429_over_the_rate_limit_with_retry_after(service):
    key = service.keys["limited"]  # 3 requests per minute
    statuses = [_post(service, key, b'{"data": []}').status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    response = _post(service, key, b'{"data": []}')
    assert response.status_code == 429
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 20  # one request every 20 s at 3 per minute
    assert response.json()["retry_after"] == retry and response.json()["error"] == "Too many requests"
    # Other tenants are not affected.
    assert _post(service, service.keys["main"], b'{"data": []}').status_code == 400


def test_two_tenants_hammering_at_once_get_their_own_limits(service):
    results: dict[str, list[int]] = {"hammer_a": [], "hammer_b": []}

    def hammer(name: str) -> None:
        with httpx.Client() as client:
            for _ in range(12):
                r = client.post(service.endpoint, content=b'{"data": []}', headers=service.keys[name].headers())
                results[name].append(r.status_code)

    threads = [threading.Thread(target=hammer, args=(name,)) for name in results]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for name, limit in (("hammer_a", 4), ("hammer_b", 7)):
        assert results[name] == [400] * limit + [429] * (12 - limit), (name, results[name])


# ------------------------------------------------------------------------------ 500 / 503


def test_500_on_an_internal_fault_and_the_server_keeps_serving(service):
    key = service.keys["main"]
    body = json.dumps({"data": _blob_records()}).encode()
    for language, message in (("en", "AI service error"), ("pt", "serviço de IA")):
        response = _post(service, key, body, **{"X-Segengine-Fault": "error", "Accept-Language": language})
        assert response.status_code == 500
        got = response.json()
        assert got["error"] == "Service error" and got["retry_after"] == 60 and message in got["message"]
        assert "Traceback" not in response.text and "RuntimeError" not in response.text
    assert _post(service, key, body).status_code == 200


def test_503_when_saturated_and_429_over_the_tenant_in_flight_cap(service):
    # 2 workers + 1 queue place = 3 places, at most 3 per tenant: busy_a takes all three.
    a, b = service.keys["busy_a"], service.keys["busy_b"]
    slow: list[int] = []

    def hold() -> None:
        slow.append(_post(service, a, b'{"data": []}', **{"X-Segengine-Fault": "sleep=1500"}).status_code)

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for th in threads:
        th.start()
    time.sleep(0.7)
    over_cap = _post(service, a, b'{"data": []}')
    saturated = _post(service, b, b'{"data": []}')
    for th in threads:
        th.join()
    assert slow == [400, 400, 400]
    assert over_cap.status_code == 429 and int(over_cap.headers["retry-after"]) >= 1
    assert saturated.status_code == 503
    assert int(saturated.headers["retry-after"]) >= 1 and saturated.json()["retry_after"] >= 1
    assert saturated.json()["error"] == "Service unavailable"
    assert _post(service, b, b'{"data": []}').status_code == 400  # places are given back


# ------------------------------------------------------------------------------ probes, docs, logs, keys


def test_health_ready_and_openapi(service):
    assert httpx.get(service.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(service.url + "/readyz").json() == {"status": "ready"}
    doc = httpx.get(service.url + "/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    operation = doc["paths"]["/api/v1/ai/echointel/customer-intelligence/segmentation-report"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "415", "422", "429", "500", "503"}
    options = doc["components"]["schemas"]["ReportRequest"]["properties"]["options"]["properties"]
    assert {"k_max", "kMax", "random_state", "randomState"} <= set(options)
    response = httpx.get(service.url + "/nope")
    assert response.status_code == 404 and response.json()["error"] == "Not found"
    response = httpx.get(service.endpoint)
    assert response.status_code == 405 and response.json()["error"] == "Method not allowed"


def test_one_json_log_line_per_request_without_secrets(service):
    key = service.keys["main"]
    records = _blob_records()
    records[0]["channel"] = "Marker-Value-7d1f"
    body = json.dumps({"data": records, "options": {"k_max": 3}}).encode()
    response = _post(service, key, body, **{"X-Request-ID": "test-req-42"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "test-req-42"
    generated = _post(service, key, b"{}").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    time.sleep(0.3)
    lines = service.log_lines()
    parsed = [json.loads(line) for line in lines]  # every line is JSON
    mine = [p for p in parsed if p.get("request_id") == "test-req-42"]
    assert len(mine) == 1
    assert mine[0]["tenant"] == key.tenant and mine[0]["status"] == 200 and mine[0]["records"] == 60
    assert mine[0]["ms"] >= 0 and mine[0]["path"].endswith("segmentation-report")
    text = "\n".join(lines)
    for secret_value in ("Marker-Value-7d1f", key.token, key.secret) + tuple(
            k.token for k in service.keys.values()) + tuple(k.secret for k in service.keys.values()):
        assert secret_value not in text


def test_keys_rotate_without_restart(service):
    tenant = service.keys["rotation"].tenant
    env = {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "segengine", "tenants", "add", str(service.tenants_path),
                          "--tenant", tenant], capture_output=True, text=True, env=env, check=True).stdout
    token = re.search(r"token: (\S+)", out).group(1)
    secret = re.search(r"secret: (\S+)", out).group(1)
    headers = {"Authorization": f"Bearer {token}", "X-Customer-Api-Id": tenant, "X-Secret": secret}
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        status = httpx.post(service.endpoint, content=b'{"data": []}', headers=headers).status_code
        if status == 400:
            break
        time.sleep(0.3)
    assert status == 400  # the new key works: the request reached the engine
    old = service.keys["rotation"]
    assert _post(service, old, b'{"data": []}').status_code == 400  # the old key still works
    subprocess.run([sys.executable, "-m", "segengine", "tenants", "revoke", str(service.tenants_path),
                    "--tenant", tenant, f"--token={old.token}"], capture_output=True, env=env, check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _post(service, old, b'{"data": []}').status_code != 401:
        time.sleep(0.3)
    assert _post(service, old, b'{"data": []}').status_code == 401
    assert httpx.post(service.endpoint, content=b'{"data": []}', headers=headers).status_code == 400
