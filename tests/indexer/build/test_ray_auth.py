"""Which Ray token a build sends, when it turns Ray's token mode on, and the one line it prints when the
cluster refuses it (the real cluster is in ``test_ray_cluster.py``); ``ray://`` without Ray Client."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from indexer.build.ray import auth
from indexer.build.ray.target import parse_target
from indexer.errors import DistributedBuildError, RayUnavailableError


@pytest.fixture
def reloads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ray's configuration is not read again in this process; the calls are counted."""
    calls: list[int] = []
    monkeypatch.setattr(auth, "_reload_ray_config", lambda: calls.append(1))
    return calls


def _home(tmp_path: Path, token: str | None) -> dict[str, str]:
    if token is not None:
        (tmp_path / ".ray").mkdir()
        (tmp_path / ".ray" / "auth_token").write_text(token)
    return {"HOME": str(tmp_path)}


def test_the_token_is_found_where_ray_looks_in_rays_order(tmp_path: Path) -> None:
    named = tmp_path / "cluster-token"
    named.write_text("abc\n")
    env = _home(tmp_path, "from-home")
    assert auth.token_source(env) == "~/.ray/auth_token"
    assert auth.token_source({**env, "RAY_AUTH_TOKEN_PATH": str(named)}) == f"RAY_AUTH_TOKEN_PATH ({named})"
    both = {**env, "RAY_AUTH_TOKEN_PATH": str(named), "RAY_AUTH_TOKEN": "xyz"}
    assert auth.token_source(both) == "RAY_AUTH_TOKEN"
    assert auth.token_source({"HOME": str(tmp_path / "nobody"), "RAY_AUTH_TOKEN": " "}) is None


@pytest.mark.parametrize("content", [None, "  \n"])
def test_a_token_file_ray_would_abort_on_is_one_line(tmp_path: Path, content: str | None) -> None:
    named = tmp_path / "token"
    if content is not None:
        named.write_text(content)
    with pytest.raises(DistributedBuildError, match=r"RAY_AUTH_TOKEN_PATH=.*token file"):
        auth.token_source({"HOME": str(tmp_path), "RAY_AUTH_TOKEN_PATH": str(named)})


def test_token_mode_is_turned_on_when_a_token_is_there(tmp_path: Path, reloads: list[int]) -> None:
    on_a_node = _home(tmp_path, "secret")
    assert auth.use_token(home=True, environ=on_a_node) == "~/.ray/auth_token"
    assert on_a_node["RAY_AUTH_MODE"] == "token" and reloads == [1]
    given = {"HOME": str(tmp_path), "RAY_AUTH_TOKEN": "t"}
    assert auth.use_token(home=False, environ=given) == "RAY_AUTH_TOKEN" and given["RAY_AUTH_MODE"] == "token"


def test_the_home_token_alone_is_not_sent_through_ray_client(tmp_path: Path, reloads: list[int]) -> None:
    """``--ray local`` leaves a token in ~/.ray/auth_token; a token-mode client fails on a cluster
    without token authentication."""
    laptop = _home(tmp_path, "left-by-a-local-ray")
    assert auth.use_token(home=False, environ=laptop) is None and "RAY_AUTH_MODE" not in laptop
    assert reloads == []


def test_the_users_mode_wins_and_no_token_means_no_mode(tmp_path: Path, reloads: list[int]) -> None:
    disabled = {**_home(tmp_path, "secret"), "RAY_AUTH_MODE": "disabled"}
    assert auth.use_token(home=True, environ=disabled) is None and disabled["RAY_AUTH_MODE"] == "disabled"
    explicit = {"HOME": str(tmp_path), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "t"}
    assert auth.use_token(home=False, environ=explicit) == "RAY_AUTH_TOKEN"
    nothing = {"HOME": str(tmp_path / "nobody")}
    assert auth.use_token(home=True, environ=nothing) is None and "RAY_AUTH_MODE" not in nothing
    assert reloads == []


def test_a_refused_connection_says_what_to_do(tmp_path: Path) -> None:
    assert auth.refused("RPC error: InvalidAuthToken: Authentication token is missing or incorrect")
    assert not auth.refused("Failed to connect to Ray cluster at 10.0.0.1:6379")
    none = auth.refusal("auto", {"HOME": str(tmp_path)})
    assert "requires a token and none was found" in none and "ray get-auth-token" in none
    wrong = auth.refusal(
        "ray://h:10001", {"HOME": str(tmp_path), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "x"}
    )
    assert "refused the token from RAY_AUTH_TOKEN" in wrong
    off = auth.refusal("auto", {"HOME": str(tmp_path), "RAY_AUTH_MODE": "disabled"})
    assert "RAY_AUTH_MODE is 'disabled'" in off
    unsent = auth.refusal("ray://h:10001", _home(tmp_path, "secret"))
    assert "set RAY_AUTH_MODE=token to send the one in ~/.ray/auth_token" in unsent
    assert all("\n" not in message for message in (none, wrong, off, unsent))


def test_a_failed_job_in_token_mode_says_how_to_turn_it_off() -> None:
    assert "set RAY_AUTH_MODE=disabled" in auth.job_hint({"RAY_AUTH_MODE": "token"})
    assert auth.job_hint({}) == ""


def test_ray_client_address_without_ray_client_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "grpc" else real(name, *a)
    )
    with pytest.raises(RayUnavailableError, match=r"Ray Client.*pip install -e '\.\[ray\]'"):
        parse_target("ray://head:10001")
    assert parse_target("auto").address == "auto"
