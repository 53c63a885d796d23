"""cam-gitops: policy-checked GitOps for AWS Clean Rooms ML configured audience models."""

# The build writes _version.py from git (see pyproject.toml). Reading it costs one tiny import,
# where importlib.metadata would scan site-packages on every start of the pre-commit hook.
try:
    from cam_gitops._version import __version__
except ImportError:  # a source tree that was never built or installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
