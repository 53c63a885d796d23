"""cam-gitops: policy-checked GitOps for AWS Clean Rooms ML configured audience models."""

__version__ = "0.1.0"
