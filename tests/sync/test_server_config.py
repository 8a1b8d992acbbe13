"""The server's settings file: a bad value stops with the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest

from sync.server.config import ServerConfigError, default_config_file, load_server_settings
from sync.server.main import create_app


def test_shipped_server_settings_load() -> None:
    settings = load_server_settings(default_config_file(), environ={})
    assert settings.max_body_bytes > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max_body_bytes = -1\n", "max_body_bytes: Input should be greater than"),
        ("max_bodybytes = 10\n", "max_bodybytes: unknown key"),
        ("clinic_timezone = 'Mars/Olympus'\n", "clinic_timezone"),
        ("max_body_bytes = \n", "not valid TOML"),
    ],
)
def test_bad_server_file_names_file_key_and_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "server.toml"
    path.write_text(text)  # every other key keeps its default
    with pytest.raises(ServerConfigError) as caught:
        load_server_settings(path, environ={})
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_missing_server_file(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError, match="file not found"):
        load_server_settings(tmp_path / "nope.toml", environ={})


async def test_each_worker_serves_as_many_requests_at_once_as_configured(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(
        f"database_url = 'sqlite:///{tmp_path / 'db.sqlite'}'\nthreads_per_worker = 3\n"
    )
    app = create_app(load_server_settings(path, environ={}))
    limiter = anyio.to_thread.current_default_thread_limiter()
    before = limiter.total_tokens
    try:
        async with app.router.lifespan_context(app):
            assert limiter.total_tokens == 3
    finally:
        limiter.total_tokens = before


async def test_a_worker_connects_at_start_and_still_starts_when_the_database_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f"database_url = 'sqlite:///{tmp_path / 'db.sqlite'}'\n")
    app = create_app(load_server_settings(path, environ={}))
    engine = app.state.ctx.engine
    async with app.router.lifespan_context(app):
        assert engine.pool.checkedin() == 1  # the driver set up before the first request
    path.write_text("database_url = 'postgresql+psycopg://nobody@127.0.0.1:1/none'\n")
    down = create_app(load_server_settings(path, environ={}))
    async with down.router.lifespan_context(down):
        assert "does not answer" in caplog.text  # /health says the rest
