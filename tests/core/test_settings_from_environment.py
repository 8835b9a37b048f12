from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env


def test_production_start_without_a_secret_key_stops_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        env.secret_key(debug=False, var_dir=tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_a_secret_key_once_and_keeps_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = env.secret_key(debug=True, var_dir=tmp_path)
    assert len(first) >= 50
    assert env.secret_key(debug=True, var_dir=tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_from_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert env.secret_key(debug=False, var_dir=tmp_path) == "from-the-environment"


def test_default_database_is_an_sqlite_file_under_var_in_wal_mode(tmp_path: Path) -> None:
    config = env.database(None, var_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "vaxbook.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["OPTIONS"]["timeout"] > 0
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_url_uses_psycopg_with_a_connection_pool(tmp_path: Path) -> None:
    config = env.database("postgres://app:pw@db.internal:5433/vaxbook", var_dir=tmp_path)
    assert config["ENGINE"] == "vaxbook.core.postgresql"  # Django's, with a circuit breaker
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "vaxbook")
    assert config["OPTIONS"]["pool"]["max_size"] >= 1


def test_postgres_prepares_the_statements_it_runs_often_unless_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgres://u:p@db.example.org:5432/vaxbook"
    config = env.database(url, var_dir=tmp_path)
    assert config["OPTIONS"]["server_side_binding"] is True
    assert config["OPTIONS"]["prepare_threshold"] == env.PREPARE_THRESHOLD
    assert not config.get("DISABLE_SERVER_SIDE_CURSORS")

    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "off")  # behind PgBouncer, say
    config = env.database(url, var_dir=tmp_path)
    assert "server_side_binding" not in config["OPTIONS"]
    assert "prepare_threshold" not in config["OPTIONS"]
    # PgBouncer in transaction mode cannot keep a cursor open across transactions either.
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_unsupported_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.database("mysql://root@localhost/vaxbook", var_dir=tmp_path)


def test_redis_url_gives_the_shared_cache_and_its_absence_local_memory() -> None:
    assert env.cache("redis://127.0.0.1:6379/0")["BACKEND"].endswith("RedisCache")
    assert env.cache(None)["BACKEND"].endswith("LocMemCache")


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("off", False)])
def test_booleans_read_the_usual_words(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("DEBUG", raw)
    assert env.env_bool("DEBUG") is expected


def test_a_boolean_that_is_neither_true_nor_false_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env.env_bool("DEBUG")


def test_debug_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEBUG", raising=False)
    assert env.env_bool("DEBUG") is False
