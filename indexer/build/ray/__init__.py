"""The build's reading, chunking and embedding as Ray Data stages on a Ray cluster
(``python -m indexer build --ray ADDRESS``). Ray is an optional dependency (``pip install -e '.[ray]'``):
it is imported by :mod:`~indexer.build.ray.cluster` (and :mod:`~indexer.build.ray.auth` while it
connects), :mod:`~indexer.build.ray.stages`, :mod:`~indexer.build.ray.remote` and
:mod:`~indexer.build.ray.processor` only, never by this package or :mod:`~indexer.build.ray.target`."""
