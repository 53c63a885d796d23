"""Bounded time: connect and read timeouts, the worst case they promise, and the run's deadline.

A silent endpoint is a loopback socket that accepts connections and never answers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff
from e2e_helpers import CAM_GITOPS, desired, live_seed, make_repo
from emulator_fixtures import cam_arn

from cam_gitops import cli
from cam_gitops.emulator import EmulatorServer, Faults
from cam_gitops.live import runs
from cam_gitops.live.aws import AwsError, CleanRoomsML, RetrySettings, make_session, worst_case_call_s

pytestmark = pytest.mark.e2e

Start = Callable[..., EmulatorServer]
# Starting the installed command (interpreter, imports, check) on a busy 2-core machine.
STARTUP_S = 30.0
PROMISE_S = 120.0


class SilentEndpoint:
    """A loopback TCP server that accepts every connection and never answers."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.held.append(connection)  # held open: the client waits for an answer
            self.connected.set()

    def close(self) -> None:
        self._socket.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent(aws_env: None) -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.close()


def test_the_defaults_bound_one_silent_call_well_under_two_minutes() -> None:
    defaults = RetrySettings()
    assert (defaults.max_attempts, defaults.connect_timeout_s, defaults.read_timeout_s) == (8, 3.0, 10.0)
    # 8 attempts of (3 s connect + 10 s read), and botocore's largest backoff between them for
    # errors that are not throttling: min(0.05 * 2**i, 20) for i = 0..6 = 6.35 s.
    assert worst_case_call_s(defaults) == pytest.approx(8 * (3 + 10) + 6.35)
    assert worst_case_call_s(defaults) < PROMISE_S
    # An endpoint that accepts at once and never answers costs only the read timeouts.
    assert worst_case_call_s(RetrySettings(connect_timeout_s=0)) == pytest.approx(86.35)


def test_the_backoff_in_the_arithmetic_is_botocores() -> None:
    assert ExponentialBackoff._DEFAULT_BACKOFF_CONFIG["non_throttling_base_scale"] == 0.05
    assert ExponentialBackoff._MAX_BACKOFF == 20
    assert ExponentialBackoff._BASE == 2


def test_the_command_line_says_the_defaults_the_runs_use() -> None:
    from click.testing import CliRunner

    settings = runs.AwsSettings()
    assert settings.retries() == RetrySettings(max_pool_connections=10)
    for command, deadline in (("plan", settings.deadline_s), ("apply", 900.0)):
        shown = " ".join(CliRunner().invoke(cli.cli, [command, "--help"]).output.split())
        assert f"connection to AWS, per attempt. [default: {settings.connect_timeout_s};" in shown
        assert f"AWS to answer, per attempt. [default: {settings.read_timeout_s};" in shown
        assert f"did not do. [default: {deadline};" in shown


def test_a_silent_call_takes_every_attempt_and_no_longer_than_the_worst_case(
    silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
    settings = RetrySettings(connect_timeout_s=0.2, read_timeout_s=0.2)  # the default 8 attempts
    adapter = CleanRoomsML(make_session(settings), settings)
    began = time.monotonic()
    with pytest.raises(AwsError) as caught:
        adapter.get_model(cam_arn("cam-0"), "us-east-1")
    elapsed = time.monotonic() - began
    assert caught.value.code == "Timeout"
    assert caught.value.attempts == 8 == len(silent.held)  # a fresh connection per attempt
    assert 8 * 0.2 <= elapsed <= worst_case_call_s(settings) + 1.0
    assert caught.value.outcome_unknown  # a request was sent; its answer never came


def test_the_endpoint_named_in_an_error_never_carries_credentials(
    silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = silent.url.removeprefix("http://")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://user:s3cret@{host}")
    settings = RetrySettings(max_attempts=1, read_timeout_s=0.2)
    with pytest.raises(AwsError) as caught:
        CleanRoomsML(make_session(settings), settings).get_model(cam_arn("cam-0"), "us-east-1")
    assert f"no answer from {silent.url} (set by AWS_ENDPOINT_URL)" in caught.value.message
    assert "s3cret" not in str(caught.value)


def test_plan_against_a_silent_endpoint_fails_in_bounded_time_naming_it(
    tmp_path: Path, silent: SilentEndpoint, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
    began = time.monotonic()
    completed = run(root, "plan", "--connect-timeout", "0.5", "--read-timeout", "0.5", "--max-attempts", "3")
    elapsed = time.monotonic() - began
    assert completed.returncode == 1
    assert f"no answer from {silent.url} (set by AWS_ENDPOINT_URL) within the read timeout of 0.5 s, 3 attempts" in (
        completed.stderr
    )
    assert "check that AWS_ENDPOINT_URL points at a running endpoint" in completed.stderr
    assert "Traceback" not in completed.stderr
    bound = worst_case_call_s(RetrySettings(max_attempts=3, connect_timeout_s=0.5, read_timeout_s=0.5))
    assert elapsed < min(bound + STARTUP_S, PROMISE_S)


def test_a_silent_service_endpoint_is_an_error_on_each_model_naming_the_endpoint(
    tmp_path: Path,
    seeded_emulator: Start,
    silent: SilentEndpoint,
    run: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = seeded_emulator(seed=live_seed(2))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)  # STS answers; Clean Rooms ML does not
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0"), "cam-1": desired("cam-1")})
    completed = run(root, "plan", "--format", "json", "--read-timeout", "0.3", "--max-attempts", "2")
    assert completed.returncode == 1
    changes = json.loads(completed.stdout)["changes"]
    assert [c["action"] for c in changes] == ["error", "error"]
    for change in changes:
        assert change["error"].startswith(
            f"Timeout: CleanRoomsML GetConfiguredAudienceModel: no answer from {silent.url} (set by AWS_ENDPOINT_URL)"
        )


def test_the_plan_deadline_ends_the_run_naming_the_models_not_read(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    seeded_emulator(seed=live_seed(12), faults=Faults(latency_ms=1000))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(12)})
    began = time.monotonic()
    completed = run(root, "plan", "--format", "json", "--deadline", "5", "--concurrency", "1")
    elapsed = time.monotonic() - began
    assert completed.returncode == 1
    changes = json.loads(completed.stdout)["changes"]
    unread = [c["path"] for c in changes if c["action"] == "error"]
    read = [c["path"] for c in changes if c["action"] == "update"]
    assert len(unread) >= 5 and len(read) + len(unread) == 12  # 12 reads of 1 s cannot fit in 5 s
    for change in changes:
        if change["path"] in unread:
            assert change["error"].startswith("not read: the run's deadline of 5 s was reached")
    assert f"the run's deadline of 5 s was reached: {len(unread)} of 12 models not read: {unread[0]}" in (
        completed.stderr
    )
    assert "raise --deadline" in completed.stderr
    assert elapsed < 5 + 13 + STARTUP_S  # deadline + one attempt's grace (3 s connect + 10 s read)


def test_the_apply_deadline_stops_new_updates_and_reports_every_model(
    tmp_path: Path, seeded_emulator: Start, run: Callable[..., Any]
) -> None:
    server = seeded_emulator(seed=live_seed(10), faults=Faults(latency_ms=400))
    root = make_repo(tmp_path / "repo", {f"cam-{i}": desired(f"cam-{i}") for i in range(10)})
    completed = run(root, "apply", "--deadline", "5", "--concurrency", "1", "--report", "r.json")
    assert completed.returncode == 1
    report = json.loads((root / "r.json").read_text())
    results = {r["path"]: r for r in report["results"]}
    assert len(results) == 10
    assert report["stopped"] == "the run's deadline of 5 s was reached"
    updated = {r.arn for r in server.requests if r.operation == "UpdateConfiguredAudienceModel"}
    for i in range(10):
        entry = results[f"models/cam-{i}.yaml"]
        assert entry["result"] in ("applied", "unknown", "not-started")
        assert (cam_arn(f"cam-{i}") in updated) == (entry["result"] != "not-started")
        if entry["result"] == "applied":
            assert server.store.get(cam_arn(f"cam-{i}"))["minMatchingSeedSize"] == 1000
    not_started = [p for p, r in results.items() if r["result"] == "not-started"]
    assert len(not_started) >= 5  # 10 models of 3 calls of 0.4 s cannot fit in 5 s
    assert "error: the run's deadline of 5 s was reached" in completed.stderr
    assert f"{len(not_started)} not started: {sorted(not_started)[0]}" in completed.stderr
    assert "run apply again to converge, or raise --deadline" in completed.stderr
    assert not (root / "r.json.jsonl").exists()


def test_a_signal_before_any_update_ends_apply_at_once_and_says_nothing_was_sent(
    tmp_path: Path, silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo", {"cam-0": desired("cam-0")})
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI")}
    env["AWS_ENDPOINT_URL"] = silent.url
    process = subprocess.Popen(
        [CAM_GITOPS, "apply", "--report", "r.json"],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert silent.connected.wait(60)  # apply is waiting for STS: nothing can have been sent
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)  # not the 10 s read timeout times 8 attempts
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted" in stderr
    report = json.loads((root / "r.json").read_text())
    assert report["stopped"] == "interrupted before any update was sent"
    assert [r["result"] for r in report["results"]] == ["not-started"]
