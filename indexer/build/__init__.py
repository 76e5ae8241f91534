"""The build: plan what changed, read and chunk it, embed it, write a snapshot and publish it."""

from indexer.build.builder import Builder, BuildReport
from indexer.build.updates import merge, update
from indexer.build.writer import writer_model

__all__ = ["BuildReport", "Builder", "merge", "update", "writer_model"]
