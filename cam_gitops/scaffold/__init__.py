"""`cam-gitops init`: the files an adopting repository needs, rendered from this package's templates."""

from cam_gitops.scaffold.init import InitOptions, InitReport, run_init

__all__ = ["InitOptions", "InitReport", "run_init"]
