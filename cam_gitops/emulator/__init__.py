"""A faithful AWS Clean Rooms ML emulator served over real HTTP on loopback.

CleanRoomsML (configured audience models, audience models, tags) is served
from botocore's own service model; STS, IAM, S3 and every other service are
handed to moto's server, so ``AWS_ENDPOINT_URL=<server.url>`` points boto3 at
the emulator for everything, with real serialisation, signing, retries and
error parsing. See :class:`EmulatorServer` and ``python -m cam_gitops.emulator --help``.
"""

from .faults import DROP, FaultAction, Faults
from .seed import SeedError, apply_seed, read_seed_file
from .server import EmulatorServer, RequestRecord
from .store import Store
from .validation import ValidationFailure

__all__ = [
    "DROP",
    "EmulatorServer",
    "FaultAction",
    "Faults",
    "RequestRecord",
    "SeedError",
    "Store",
    "ValidationFailure",
    "apply_seed",
    "read_seed_file",
]
