"""HTTP front door: one loopback endpoint for CleanRoomsML and everything moto serves.

Requests whose SigV4 credential scope names the ``cleanrooms-ml`` service are
answered by :class:`CleanRoomsMLService`; every other request goes to moto's
own server application, so ``AWS_ENDPOINT_URL`` alone points boto3 at this
process for STS, IAM, S3 and CleanRoomsML alike.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import socket
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .cleanroomsml import (
    CallContext,
    CleanRoomsMLService,
    StartResponse,
    WSGIEnviron,
    current_account,
)
from .faults import Faults
from .model import load_model
from .seed import apply_seed, read_seed_file
from .store import DEFAULT_REGION, Store

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})
#: Unsigned ``GET`` here answers the request counts as JSON (a debug route, not an AWS one).
DEBUG_REQUESTS_PATH = "/_emulator/requests"


class RequestRecord(NamedTuple):
    """One served request: ``status_code`` is 0 when the connection was dropped."""

    service: str
    operation: str | None
    arn: str | None
    status_code: int

    @property
    def status(self) -> int:
        """Alias of ``status_code``."""
        return self.status_code


class CredentialScope(NamedTuple):
    """The parts of a SigV4 ``Credential=`` scope the emulator needs."""

    access_key: str
    region: str
    service: str


def parse_credential_scope(authorization: str | None) -> CredentialScope | None:
    """Extract access key, region and service from a SigV4 Authorization header."""
    if not authorization or "Credential=" not in authorization:
        return None
    credential = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
    parts = credential.split("/")
    if len(parts) != 5:
        return None
    access_key, _date, region, service, _terminator = parts
    return CredentialScope(access_key, region, service)


def is_loopback(host: str) -> bool:
    """True for loopback addresses and names (the only hosts served by default)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _query_action(environ: WSGIEnviron) -> str | None:
    """The ``Action`` of a query-protocol request; restores the body it reads."""
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    # moto reads the body again, so hand it a fresh stream with the same bytes.
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    actions = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return actions[0] if actions else None


_S3_OPERATIONS = {
    ("GET", 0): "ListBuckets",
    ("PUT", 1): "CreateBucket",
    ("GET", 1): "ListObjects",
    ("HEAD", 1): "HeadBucket",
    ("DELETE", 1): "DeleteBucket",
    ("PUT", 2): "PutObject",
    ("GET", 2): "GetObject",
    ("HEAD", 2): "HeadObject",
    ("DELETE", 2): "DeleteObject",
}


def _s3_operation(environ: WSGIEnviron) -> str | None:
    """Best-effort S3 operation name from method, path depth and sub-resource."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "")).strip("/")
    depth = 0 if not path else (1 if "/" not in path else 2)
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    flags = [key for key, values in query.items() if values == [""]]
    if depth == 1 and method == "POST" and "delete" in flags:
        return "DeleteObjects"
    if flags and depth:
        target = "Bucket" if depth == 1 else "Object"
        return f"{method.capitalize()}{target}{flags[0][:1].upper()}{flags[0][1:]}"
    if (method, depth) == ("GET", 1) and query.get("list-type") == ["2"]:
        return "ListObjectsV2"
    return _S3_OPERATIONS.get((method, depth))


def _moto_operation(environ: WSGIEnviron, service: str) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    if service == "s3":
        return _s3_operation(environ)
    return _query_action(environ)


class EmulatorServer:
    """A threaded HTTP server emulating CleanRoomsML (and STS/IAM/S3 via moto).

    ``seed_path`` names a YAML/JSON seed file and ``seed`` is a seed mapping
    in the same format (see :mod:`cam_gitops.emulator.seed`); both may be
    given. A bad seed raises :class:`~cam_gitops.emulator.seed.SeedError`.
    ``port=0`` picks a free ephemeral port. Non-loopback hosts are refused
    unless ``allow_remote`` is true.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed_path: str | Path | None = None,
        seed: Mapping[str, Any] | None = None,
        faults: Faults | None = None,
        *,
        allow_remote: bool = False,
        verbose: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(f"refusing to serve on non-loopback host {host!r} without allow_remote")
        self.host = host
        self.port = port
        self.verbose = verbose
        self.model = load_model()
        self.store = Store(self.model)
        self.faults = faults if faults is not None else Faults()
        if seed_path is not None:
            apply_seed(self.store, read_seed_file(seed_path), str(seed_path))
        if seed is not None:
            apply_seed(self.store, seed, "<seed>")
        self._service = CleanRoomsMLService(self.model, self.store, self.faults)
        self._requests: list[RequestRecord] = []
        self._requests_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._moto_app: Any = None

    # ----- lifecycle -----------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Bind, start serving in a daemon thread and return once connections are accepted."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._moto_app = _make_moto_app()
        # Binding ourselves turns "address in use" into an OSError; werkzeug would sys.exit(1).
        listener = _listen(self.host, self.port)
        try:
            server = make_server(
                self.host,
                self.port,
                self._wsgi,
                threaded=True,
                request_handler=self._handler_class(),
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug serves on its own duplicate of the descriptor
        self._server = server
        self.port = int(server.server_address[1])
        # A short poll interval keeps stop() fast; shutdown() waits for one poll.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"cam-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close idle keep-alive connections; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        # Keep-alive connections would otherwise keep being served by their threads.
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for ``AWS_ENDPOINT_URL``; the real port once started."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ----- request log ---------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Snapshot of every request served so far, in completion order."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._requests_lock:
            self._requests.clear()

    def _record(self, service: str, operation: str | None, arn: str | None, status: int) -> None:
        with self._requests_lock:
            self._requests.append(RequestRecord(service, operation, arn, status))

    # ----- WSGI ----------------------------------------------------------------------------

    def request_counts(self) -> dict[str, Any]:
        """The request log summed up: total, and per ``service:operation`` and status."""
        counts: dict[str, int] = {}
        statuses: dict[str, int] = {}
        records = self.requests
        for item in records:
            key = f"{item.service}:{item.operation}"
            counts[key] = counts.get(key, 0) + 1
            statuses[str(item.status_code)] = statuses.get(str(item.status_code), 0) + 1
        return {"total": len(records), "operations": counts, "statuses": statuses}

    def _debug(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        """``GET /_emulator/requests``: request counts as JSON (not an AWS route, not logged)."""
        import json

        if str(environ.get("REQUEST_METHOD", "GET")).upper() != "GET":
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET")])
            return [b"GET only\n"]
        payload = json.dumps(self.request_counts(), sort_keys=True).encode("utf-8")
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    def _wsgi(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == DEBUG_REQUESTS_PATH and not environ.get("HTTP_AUTHORIZATION"):
            return self._debug(environ, start_response)
        scope = parse_credential_scope(environ.get("HTTP_AUTHORIZATION"))
        if scope is not None and scope.service == self.model.signing_name:
            context = CallContext(
                region=scope.region or DEFAULT_REGION,
                account=current_account(environ, scope.access_key),
            )

            def record(operation: str | None, arn: str | None, status: int) -> None:
                self._record(scope.service, operation, arn, status)

            return self._service(environ, start_response, context, record)
        return self._forward_to_moto(environ, start_response, scope)

    def _forward_to_moto(
        self, environ: WSGIEnviron, start_response: StartResponse, scope: CredentialScope | None
    ) -> Iterable[bytes]:
        service = scope.service if scope is not None else "unknown"
        operation = _moto_operation(environ, service)
        status: list[int] = []

        def capture(status_line: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status.append(int(status_line.split(" ", 1)[0]))
            return start_response(status_line, headers, *exc)

        result: Iterable[bytes] = self._moto_app(environ, capture)
        self._record(service, operation, None, status[-1] if status else 500)
        return result

    def _handler_class(self) -> type[WSGIRequestHandler]:
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        emulator = self

        class Handler(MotoRequestHandler):
            """moto's handler plus connection tracking and quiet access logs."""

            def setup(self) -> None:
                super().setup()
                with emulator._connections_lock:
                    emulator._connections.add(self.connection)

            def finish(self) -> None:
                with emulator._connections_lock:
                    emulator._connections.discard(self.connection)
                super().finish()

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                if emulator.verbose:
                    super().log_request(code, size)

            def run_wsgi(self) -> None:
                # werkzeug closes every connection after one response (and then waits up to
                # 10 ms to drain it), so every call would pay a new TCP connection and a new
                # thread. CleanRoomsML requests, whose body length is always known, are
                # answered here on a kept-alive connection instead; the rest goes to werkzeug.
                if not emulator._serve_kept_alive(self):
                    super().run_wsgi()

        return Handler

    def _serve_kept_alive(self, handler: Any) -> bool:
        """Serve a CleanRoomsML request on a keep-alive connection; False to leave it to werkzeug."""
        headers = handler.headers
        scope = parse_credential_scope(headers.get("Authorization"))
        if (
            scope is None
            or scope.service != self.model.signing_name
            or handler.request_version != "HTTP/1.1"
            or headers.get("Transfer-Encoding")
            or headers.get("Expect")
        ):
            return False
        try:
            length = int(headers.get("Content-Length") or 0)
        except ValueError:
            return False
        body = handler.rfile.read(length) if length > 0 else b""
        raw_path = handler.path
        path, _, query = raw_path.partition("?")
        environ: WSGIEnviron = {
            "REQUEST_METHOD": handler.command,
            "REQUEST_URI": raw_path,
            "RAW_URI": raw_path,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_PROTOCOL": handler.request_version,
            "wsgi.input": io.BytesIO(body),
            "werkzeug.socket": handler.connection,
        }
        for name, value in headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = value
        reply: list[Any] = []

        def start_response(status: str, response_headers: list[tuple[str, str]], *_exc: Any) -> Any:
            reply[:] = [status, response_headers]
            return None

        try:
            chunks = b"".join(self._wsgi(environ, start_response))
        except ConnectionError:  # a dropped connection (fault injection): write nothing, close
            handler.close_connection = True
            return True
        except Exception:  # like werkzeug: a 500, and the connection is closed
            handler.close_connection = True
            reply[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            chunks = b"Internal Server Error"
            with contextlib.suppress(Exception):
                import traceback

                handler.log_error("error on request:\n%s", traceback.format_exc())
        status, response_headers = reply
        code, _, reason = status.partition(" ")
        lines = [f"HTTP/1.1 {code} {reason}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in response_headers if name.lower() != "content-length"]
        lines.append(f"Content-Length: {len(chunks)}\r\n")
        if handler.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        handler.wfile.write("".join(lines).encode("latin-1") + chunks)
        handler.wfile.flush()
        handler.log_request(int(code), len(chunks))
        return True


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket for ``host``:``port`` (0 = ephemeral)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host.strip("[]"), port))
        # Room for a burst from 32+ concurrent clients (socketserver's default is 5).
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def _make_moto_app() -> Any:
    # Imported lazily: moto's server pulls in flask and every backend index.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)
