"""The build: plan what changed, read and chunk it, embed it, write a snapshot and publish it."""

from indexer.build.builder import Builder, BuildReport
from indexer.build.updates import merge, update

__all__ = ["BuildReport", "Builder", "merge", "update"]
