"""Command line: ``python -m cam_gitops.emulator --port N [options]``."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

import click

from .faults import Faults
from .seed import SeedError
from .server import EmulatorServer, is_loopback

SEED_HELP = """\b
Seed file format (YAML or JSON):
  audienceModels:              # audience model ARNs
    - arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-model/am-1
  configuredAudienceModels:    # GetConfiguredAudienceModel-shaped records
    - configuredAudienceModelArn: >-
        arn:aws:cleanrooms-ml:us-east-1:123456789012:configured-audience-model/cam-1
      name: cam-1
      audienceModelArn: arn:aws:cleanrooms-ml:us-east-1:123456789012:audience-model/am-1
      outputConfig:
        destination: {s3Destination: {s3Uri: "s3://bucket/prefix/"}}
        roleArn: arn:aws:iam::123456789012:role/cam
      sharedAudienceMetrics: [ALL]
      # optional: minMatchingSeedSize (default 500), audienceSizeConfig,
      # description, tags, status (ACTIVE), createTime/updateTime (now)
Referenced audience models are registered automatically. A bad seed exits 2."""

RATE = click.FloatRange(0.0, 1.0)


def _fail(ctx: click.Context, message: str, code: int) -> NoReturn:
    click.echo(f"cam-gitops emulator: error: {message}", err=True)
    ctx.exit(code)


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    # A timed wait keeps the main thread responsive to signals on every platform.
    while not stop.wait(0.5):
        pass


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=SEED_HELP,
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="TCP port to listen on; 0 picks a free port (printed on start).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; must be loopback unless --allow-remote.",
)
@click.option("--allow-remote", is_flag=True, help="Permit a non-loopback --host.")
@click.option(
    "--seed",
    "seed_path",
    metavar="FILE",
    help="YAML/JSON seed file with initial models (format below).",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0.0),
    default=0.0,
    show_default=True,
    help="Delay added to every CleanRoomsML request, in milliseconds.",
)
@click.option(
    "--throttle-rate",
    type=RATE,
    default=0.0,
    show_default=True,
    help="Share (0..1) of CleanRoomsML requests answered 429 ThrottlingException.",
)
@click.option(
    "--error-rate",
    type=RATE,
    default=0.0,
    show_default=True,
    help="Share (0..1) of CleanRoomsML requests answered 500 InternalServiceException.",
)
@click.option(
    "--conflict-arn",
    "conflict_arns",
    multiple=True,
    metavar="ARN",
    help="Configured audience model ARN whose Update/Delete answer 409 ConflictException; repeatable.",
)
@click.option(
    "--drop-rate",
    type=RATE,
    default=0.0,
    show_default=True,
    help="Share (0..1) of CleanRoomsML requests whose connection is closed without any response.",
)
@click.option(
    "--fault-seed",
    type=int,
    default=None,
    help="Seed for the random fault sequence (reproducible runs).",
)
@click.option("--verbose", is_flag=True, help="Log every HTTP request to stderr.")
@click.pass_context
def main(
    ctx: click.Context,
    port: int,
    host: str,
    allow_remote: bool,
    seed_path: str | None,
    latency_ms: float,
    throttle_rate: float,
    error_rate: float,
    conflict_arns: tuple[str, ...],
    drop_rate: float,
    fault_seed: int | None,
    verbose: bool,
) -> None:
    """Serve an AWS Clean Rooms ML emulator (plus STS/IAM/S3 via moto) over HTTP.

    Point boto3 at it with AWS_ENDPOINT_URL=http://HOST:PORT. Faults apply to
    CleanRoomsML requests only. Stops cleanly on SIGTERM or SIGINT.

    \b
    Debug route (unsigned, not an AWS API): GET /_emulator/requests answers
    {"total": N, "operations": {"service:Operation": N}, "statuses": {"200": N}},
    the requests served so far (e.g. to count the API calls a run made).
    """
    if not allow_remote and not is_loopback(host):
        _fail(ctx, f"refusing non-loopback host {host!r}; pass --allow-remote to allow it", 2)
    faults = Faults(
        latency_ms=latency_ms,
        throttle_rate=throttle_rate,
        error_rate=error_rate,
        drop_rate=drop_rate,
        conflict_arns=set(conflict_arns),
        seed=fault_seed,
    )
    try:
        server = EmulatorServer(
            host,
            port,
            seed_path=seed_path,
            faults=faults,
            allow_remote=allow_remote,
            verbose=verbose,
        )
    except SeedError as exc:
        _fail(ctx, str(exc), 2)
    try:
        server.start()
    except OSError as exc:
        _fail(ctx, f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
    click.echo(f"cam-gitops emulator listening on {server.url}")
    sys.stdout.flush()
    try:
        _wait_for_signal()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
