"""The competitors' runners for :mod:`bench.compare`: each runs in that competitor's own virtual
environment (``python -m bench.competitors.run_<name>`` from the repository root) and imports only
the standard library, numpy, :mod:`bench.competitors.common` and the library under test."""
