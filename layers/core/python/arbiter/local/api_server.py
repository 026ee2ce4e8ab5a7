"""The operators' API on 127.0.0.1: each HTTP request becomes the API Gateway REST proxy event (payload 1.0) the
deployed function receives, with the caller in its request context as the Cognito authorizer would put it, and
runs the same handler in-process. ``arbiter api`` and the tests and benchmarks serve it this way."""

from __future__ import annotations

import base64
import mimetypes
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from arbiter.api.identity import OPERATOR_GROUP
from arbiter.local.lambda_invoke import LOCAL_ACCOUNT, LambdaHandler, LocalLambdaContext

STAGE = "v1"
"""The stage name the deployed API uses; routes carry their own ``/v1`` prefix as well."""
CONSOLE_HEADERS = {
    # The console's own files and the API beside them: nothing else may run, load or frame it.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
"""The security headers CloudFront's response headers policy sets in AWS (cdk/arbiter_constructs/console.py)
(HSTS aside: 127.0.0.1 is plain HTTP)."""


def cognito_claims(user: str, *groups: str) -> dict[str, Any]:
    """The request context's ``authorizer`` as API Gateway's Cognito authorizer fills it."""
    return {"claims": {"sub": str(uuid.uuid5(uuid.NAMESPACE_URL, user)), "cognito:username": user,
                       "cognito:groups": ",".join(groups), "token_use": "id"}}  # fmt: skip


def iam_identity(user_arn: str) -> dict[str, Any]:
    """The request context's ``identity`` of a SigV4-signed call (IAM authorization)."""
    return {"userArn": user_arn, "caller": "AIDAEXAMPLE", "accountId": LOCAL_ACCOUNT, "accessKey": "ASIAEXAMPLE",
            "user": "AIDAEXAMPLE", "sourceIp": "127.0.0.1", "userAgent": "arbiter-local"}  # fmt: skip


def proxy_event(
    method: str,
    path: str,
    *,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: str | bytes | None = None,
    authorizer: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (payload format 1.0) for one request."""
    raw = body.encode() if isinstance(body, str) else body
    text, encoded = (None, False) if raw is None else _body_text(raw)
    all_headers = {"Host": "127.0.0.1", "Content-Type": "application/json", **(headers or {})}
    now = time.time()
    return {
        "resource": path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT,
            "apiId": "local",
            "resourcePath": path,
            "httpMethod": method.upper(),
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": all_headers.get("User-Agent", ""), **(identity or {})},
            **({"authorizer": dict(authorizer)} if authorizer else {}),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _body_text(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), True


@dataclass
class LocalApiServer:
    """Serves ``handler`` on 127.0.0.1 (port 0: any free port) as the caller ``user`` in ``groups``."""

    handler: LambdaHandler
    port: int = 0
    user: str = "local"
    groups: tuple[str, ...] = (OPERATOR_GROUP,)
    console: Path | None = None
    """The built console (console/dist) served beside /v1; None: the API alone."""
    _server: ThreadingHTTPServer | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.handler(event, LocalLambdaContext(function_name="api"))
        return response

    def start(self) -> LocalApiServer:
        server = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: with Nagle's algorithm the body waits for the client's delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                if server.console is not None and not parts.path.startswith(f"/{STAGE}/") and parts.path != "/v1":
                    self._console(server.console, parts.path)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                event = proxy_event(
                    self.command,
                    parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers=dict(self.headers.items()),
                    body=body,
                    authorizer=cognito_claims(server.user, *server.groups),
                )
                response = server.invoke(event)
                payload = response.get("body") or ""
                data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
                self.send_response(int(response["statusCode"]))
                headers = {**response.get("headers", {}), **_first(response.get("multiValueHeaders", {}))}
                for name, value in headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, str(value))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _console(self, root: Path, path: str) -> None:
                file = console_file(root, path)
                if self.command not in {"GET", "HEAD"} or file is None:
                    status, data, kind = 404 if file is None else 405, b"not found", "text/plain; charset=utf-8"
                else:
                    status, data = 200, file.read_bytes()
                    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                # Hashed asset names may be kept; index.html must be asked for again to pick up a new build.
                immutable = file is not None and file.parent.name == "assets"
                self.send_header("Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache")
                for name, value in CONSOLE_HEADERS.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (a closed page): nothing to answer

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the handler logs each request itself."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Request)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="arbiter-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def console_file(root: Path, path: str) -> Path | None:
    """The file under ``root`` a URL path names (``/``: index.html); None outside it or missing."""
    relative = path.lstrip("/") or "index.html"
    base = root.resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def _first(multi: Mapping[str, list[str]]) -> dict[str, str]:
    return {name: values[-1] for name, values in multi.items() if values}
