"""Keep a collection's index in step with its source folder as it changes (``python -m indexer watch``,
and a collection's ``watch: true`` in the service): :mod:`~indexer.watch.paths` (which changes concern
a document), :mod:`~indexer.watch.settle` (wait until a file stops changing),
:mod:`~indexer.watch.folder` (the folder's settled changes, from watchfiles),
:mod:`~indexer.watch.apply` (each batch through ``indexer.build.update``) and
:mod:`~indexer.watch.loop` (the command). Nothing is imported here: the service uses the folder
watcher alone, without the build."""
