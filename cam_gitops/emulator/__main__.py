"""Command line: ``python -m cam_gitops.emulator --port N [options]``."""

from __future__ import annotations

import importlib
import os
import re
import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

import click

from .access import ACCOUNT_RE
from .faults import Faults
from .routing import is_loopback
from .seed import SeedError
from .server import EmulatorServer
from .store import DEFAULT_REGION

INSTALL_HINT = "pip install 'cam-gitops[emulator]'"
#: What serving needs beyond cam-gitops itself: moto's server (flask) and werkzeug.
SERVER_MODULES = ("werkzeug.serving", "flask", "moto.moto_server.werkzeug_app", "moto.iam.models")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")

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
      tags: {team: ads}        # optional, as GetConfiguredAudienceModel returns them
      resourcePolicy:          # optional: a JSON string or a mapping (an IAM policy)
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {AWS: "444455556666"},
                     Action: "cleanrooms-ml:GetConfiguredAudienceModel",
                     Resource: "*"}]
      # optional: minMatchingSeedSize (default 500), audienceSizeConfig,
      # description, status (ACTIVE), createTime/updateTime (now)
Referenced audience models are registered automatically. A bad seed exits 2.
A client sees the models of its region (SigV4 scope) and account only."""

RATE = click.FloatRange(0.0, 1.0)


def _fail(ctx: click.Context, message: str, code: int) -> NoReturn:
    click.echo(f"cam-gitops emulator: error: {message}", err=True)
    ctx.exit(code)


def missing_module() -> str | None:
    """The first module serving needs that cannot be imported, or None when all can."""
    for name in SERVER_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return getattr(exc, "name", None) or name.partition(".")[0]
    return None


def banner(server: EmulatorServer, region: str) -> str:
    """What to run in another shell to use the emulator, then the parseable listening line."""
    lines = [
        f"# cam-gitops emulator for account {server.account}, region {region}; in the shell that uses it, run:",
        # A profile or session token from the user's shell must not mix with the dummy keys.
        "unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN",
        *(f"export {name}={value}" for name, value in server.client_environment(region).items()),
        f"cam-gitops emulator listening on {server.url}",
    ]
    return "\n".join(lines)


def _check_account(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and ACCOUNT_RE.fullmatch(value) is None:
        raise click.BadParameter(f"{value!r} is not an AWS account id (12 digits)")
    return value


def _check_region(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if REGION_RE.fullmatch(value) is None:
        raise click.BadParameter(f"{value!r} is not an AWS region name (like us-east-1)")
    return value


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
    "--account",
    callback=_check_account,
    metavar="ACCOUNT",
    help="Account (12 digits) of the dummy credentials, for STS and CleanRoomsML alike "
    "[default: MOTO_ACCOUNT_ID if set, else the one account all seeded ARNs name, else 123456789012].",
)
@click.option(
    "--region",
    default=DEFAULT_REGION,
    show_default=True,
    callback=_check_region,
    help="Region of the environment printed on start (every region is served).",
)
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
    account: str | None,
    region: str,
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

    On start it prints the environment to export in the shell that uses it
    (endpoint, dummy credentials of the account, region), then a last line
    ending with the URL. Credentials from sts:AssumeRole act as the role's
    account. Faults apply to CleanRoomsML requests only. Stops cleanly on
    SIGTERM or SIGINT.

    \b
    Needs the emulator extra:
      pip install 'cam-gitops[emulator]'

    \b
    Debug route (unsigned, not an AWS API): GET /_emulator/requests answers
    {"total": N, "operations": {"service:Operation": N}, "statuses": {"200": N}},
    the requests served so far (e.g. to count the API calls a run made).
    """
    if not allow_remote and not is_loopback(host):
        _fail(ctx, f"refusing non-loopback host {host!r}; pass --allow-remote to allow it", 2)
    missing = missing_module()
    if missing is not None:
        _fail(ctx, f"the emulator needs the Python module '{missing}', which is not installed; run: {INSTALL_HINT}", 1)
    # moto would answer MOTO_ACCOUNT_ID for every request, assumed roles included; here it only
    # names the default account (as --account does), so per-credential accounts keep working.
    legacy_account = os.environ.pop("MOTO_ACCOUNT_ID", None)
    if account is None and legacy_account is not None and ACCOUNT_RE.fullmatch(legacy_account) is None:
        _fail(ctx, f"MOTO_ACCOUNT_ID={legacy_account!r} is not an AWS account id (12 digits)", 2)
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
            account=account or legacy_account,
        )
    except SeedError as exc:
        _fail(ctx, str(exc), 2)
    try:
        server.start()
    except OSError as exc:
        _fail(ctx, f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
    click.echo(banner(server, region))
    sys.stdout.flush()
    try:
        _wait_for_signal()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
