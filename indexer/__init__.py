"""Indexer: reads documents, chunks them, embeds them and publishes an index snapshot; its read side
answers queries.

Stages, one subpackage each: ``reading`` (documents, readers, chunking) → ``embedding`` (models) →
``build`` (plan, embed, write, publish) → ``snapshot`` (the format: manifest, store, vector and
lexical indexes, publish, open) → ``search`` (the query engine) → ``evaluation`` (BEIR quality).
The service imports ``config``, ``errors``, ``search`` and ``snapshot``; the indexer never imports
the service.
"""

__version__ = "0.1.0"
