"""HTTP front door: one loopback endpoint for CleanRoomsML and everything moto serves.

Requests whose SigV4 credential scope names the ``cleanrooms-ml`` service are
answered by :class:`CleanRoomsMLService`; every other request goes to moto's
own server application, so ``AWS_ENDPOINT_URL`` alone points boto3 at this
process for STS, IAM, S3 and CleanRoomsML alike. Both sides answer the same
account for the same credentials (:func:`~.access.caller_account`): moto is
told the emulator's account for credentials it did not issue.

werkzeug and moto are imported when the server starts, not when this module
is imported, so a missing ``emulator`` extra is reported by the command line.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .access import DEFAULT_ACCOUNT, caller_account, check_account
from .cleanroomsml import CallContext, CleanRoomsMLService, StartResponse, WSGIEnviron
from .faults import Faults
from .model import load_model
from .routing import CredentialScope, is_loopback, moto_operation, parse_credential_scope, request_scope
from .seed import apply_seed, read_seed_file
from .store import DEFAULT_REGION, Store

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

#: Unsigned ``GET`` here answers the request counts as JSON (a debug route, not an AWS one).
DEBUG_REQUESTS_PATH = "/_emulator/requests"
#: Credentials for clients of the emulator: any value works, these say what they are.
DUMMY_ACCESS_KEY_ID = "cam-gitops-emulator"
DUMMY_SECRET_ACCESS_KEY = "cam-gitops-emulator-secret"


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


class EmulatorServer:
    """A threaded HTTP server emulating CleanRoomsML (and STS/IAM/S3 via moto).

    ``seed_path`` names a YAML/JSON seed file and ``seed`` is a seed mapping
    in the same format (see :mod:`cam_gitops.emulator.seed`); both may be
    given. A bad seed raises :class:`~cam_gitops.emulator.seed.SeedError`.
    ``port=0`` picks a free ephemeral port. Non-loopback hosts are refused
    unless ``allow_remote`` is true.

    ``account`` (12 digits) is the account of credentials the emulator did
    not issue, such as the dummy ones of :meth:`client_environment`; by
    default the one account every seeded ARN names, else 123456789012.
    Credentials from ``sts:AssumeRole`` act as the role's account.
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
        account: str | None = None,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(f"refusing to serve on non-loopback host {host!r} without allow_remote")
        if account is not None:
            check_account(account)
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
        seeded = self.store.accounts()
        self.account: str = account or (seeded.pop() if len(seeded) == 1 else DEFAULT_ACCOUNT)
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
        caller_account({}, DUMMY_ACCESS_KEY_ID, self.account)  # imports moto's IAM now, not on the first call
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

    def client_environment(self, region: str = DEFAULT_REGION) -> dict[str, str]:
        """The variables that point the AWS CLI, boto3 and cam-gitops at this emulator.

        Dummy credentials of :attr:`account`; both region variables, because
        botocore reads only ``AWS_DEFAULT_REGION`` and other SDKs ``AWS_REGION``.
        """
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }

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
        scope = request_scope(environ)
        account = caller_account(environ, scope.access_key if scope else None, self.account)
        if scope is not None and scope.service == self.model.signing_name:
            context = CallContext(region=scope.region or DEFAULT_REGION, account=account)

            def record(operation: str | None, arn: str | None, status: int) -> None:
                self._record(scope.service, operation, arn, status)

            return self._service(environ, start_response, context, record)
        # moto answers its own default account for credentials it did not issue; name ours instead.
        environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", account)
        return self._forward_to_moto(environ, start_response, scope)

    def _forward_to_moto(
        self, environ: WSGIEnviron, start_response: StartResponse, scope: CredentialScope | None
    ) -> Iterable[bytes]:
        service = scope.service if scope is not None else "unknown"
        operation = moto_operation(environ, service)
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


def make_server(*args: Any, **kwargs: Any) -> BaseWSGIServer:
    """werkzeug's ``make_server``, imported when a server starts."""
    from werkzeug.serving import make_server as werkzeug_make_server

    return werkzeug_make_server(*args, **kwargs)


def _make_moto_app() -> Any:
    # Imported lazily: moto's server pulls in flask and every backend index.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)
