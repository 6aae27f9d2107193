"""LOGFILES_* variables: defaults, parsing, and one clear error per bad value."""

from __future__ import annotations

import pytest

from logfiles.config import Settings
from logfiles.errors import ConfigError


def test_from_env_defaults_are_memory_and_open_mode() -> None:
    settings = Settings.from_env({})
    assert settings.store_url == "memory"
    assert settings.tokens_file is None
    assert settings.object_store_url is None
    assert settings.control is True
    assert settings.access_log is True


def test_from_env_reads_every_variable() -> None:
    settings = Settings.from_env(
        {
            "LOGFILES_STORE": "sqlite:///tmp/x.db",
            "LOGFILES_TOKENS_FILE": "/etc/tokens.json",
            "LOGFILES_OBJECT_STORE_URL": "https://s.example/v1/MossoCloudFS_{project_id}",
            "LOGFILES_CONTROL": "off",
            "LOGFILES_CONTROL_TOKEN": "secret",
            "LOGFILES_JOURNAL_SIZE": "10",
            "LOGFILES_ACCESS_LOG": "off",
        }
    )
    assert settings.access_log is False
    assert settings.store_url == "sqlite:///tmp/x.db"
    assert settings.tokens_file == "/etc/tokens.json"
    assert settings.object_store_url == "https://s.example/v1/MossoCloudFS_{project_id}"
    assert settings.control is False
    assert settings.control_token == "secret"
    assert settings.journal_size == 10


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOGFILES_STORE", "redis://x"),
        ("LOGFILES_STORE", "sqlite://"),
        ("LOGFILES_STORE", "sqlite:///"),
        ("LOGFILES_OBJECT_STORE_URL", "storage101"),
        ("LOGFILES_OBJECT_STORE_URL", "ftp://x/y"),
        ("LOGFILES_CONTROL", "maybe"),
        ("LOGFILES_JOURNAL_SIZE", "many"),
        ("LOGFILES_JOURNAL_SIZE", "-1"),
    ],
)
def test_from_env_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: value})
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ")


def test_gunicorn_options_follow_the_store_and_the_access_log_switch() -> None:
    from logfiles.serving import gunicorn_options

    memory = gunicorn_options(Settings())
    assert (memory["workers"], memory["bind"], memory["accesslog"]) == (1, ["127.0.0.1:8080"], "-")
    assert memory["limit_request_line"] == 8190 and memory["limit_request_field_size"] >= 16 * 1024
    sqlite = gunicorn_options(Settings(store_url="sqlite:///x.db", access_log=False, workers=3))
    assert (sqlite["workers"], sqlite["accesslog"]) == (3, None)
    assert gunicorn_options(Settings(store_url="sqlite:///x.db"))["workers"] >= 2
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LOGFILES_WORKERS": "2"})
    assert info.value.variable == "LOGFILES_WORKERS"
    with pytest.raises(ConfigError):
        Settings.from_env({"LOGFILES_WORKERS": "two"})


@pytest.mark.parametrize(
    ("bind", "address"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:1", ("0.0.0.0", 1)),  # noqa: S104 (a value to parse, not a bind)
        ("localhost:65535", ("localhost", 65535)),
        ("stub-1.ci.example:8080", ("stub-1.ci.example", 8080)),
        ("[::1]:8080", ("::1", 8080)),
        ("[::]:9000", ("::", 9000)),
    ],
)
def test_from_env_bind_is_host_and_port(bind: str, address: tuple[str, int]) -> None:
    from logfiles.config import bind_address

    settings = Settings.from_env({"LOGFILES_BIND": bind})
    assert settings.bind == bind
    assert bind_address(settings.bind) == address


@pytest.mark.parametrize(
    "bind",
    [
        "nope",  # no port
        "127.0.0.1",
        ":8080",  # no host
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:-1",
        "127.0.0.1:80a",
        "127.0.0.1: 80",
        "127.0.0.1:8080:9",  # gunicorn would take 8080, a naive split 9
        "::1:8080",  # IPv6 needs brackets
        "[::1]",
        "[::1]8080",
        "[nope]:8080",
        "[::1:8080",
        "999.0.0.1:8080",
        "1.2.3:8080",
        "bad_host:8080",
        "-dash:8080",
        "a b:8080",
        "http://127.0.0.1:8080",
        "unix:/tmp/stub.sock",  # the development server cannot listen on it
        "unix:///tmp/stub.sock",
        "fd://3",
    ],
)
def test_from_env_bad_bind_names_the_variable(bind: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LOGFILES_BIND": bind})
    assert info.value.variable == "LOGFILES_BIND"
    assert bind in str(info.value) or "port" in str(info.value)


def test_settings_checks_bind_when_built_in_code_too() -> None:
    with pytest.raises(ConfigError):
        Settings(bind="127.0.0.1:0")


def test_unix_socket_bind_error_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LOGFILES_BIND": "unix:/tmp/stub.sock"})
    assert "gunicorn --bind unix:PATH wsgi:app" in info.value.reason


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOGFILES_TEMP_URL_KEY", "clé"),
        ("LOGFILES_TEMP_URL_KEY", " key"),
        ("LOGFILES_CONTROL_TOKEN", "jeton-é"),
        ("LOGFILES_CONTROL_TOKEN", "tok\n"),
        ("LOGFILES_JOURNAL_SIZE", str(2**63)),
        ("LOGFILES_JOURNAL_SIZE", "1000001"),
        ("LOGFILES_JOURNAL_SIZE", "-1"),
        ("LOGFILES_JOURNAL_SIZE", "1_000"),
        ("LOGFILES_STORE", "sqlite:///:memory:"),
    ],
)
def test_from_env_value_that_cannot_serve_is_a_config_error(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: value})
    assert info.value.variable == variable


def test_from_env_journal_size_up_to_a_million_is_accepted() -> None:
    assert Settings.from_env({"LOGFILES_JOURNAL_SIZE": "1000000"}).journal_size == 1_000_000


def test_from_env_tokens_file_without_control_token_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LOGFILES_TOKENS_FILE": "/etc/tokens.json"})
    assert info.value.variable == "LOGFILES_CONTROL_TOKEN"


@pytest.mark.parametrize(
    "extra",
    [
        {"LOGFILES_CONTROL_TOKEN": "secret"},
        {"LOGFILES_CONTROL": "off"},
        {"LOGFILES_CONTROL_OPEN": "on"},
    ],
)
def test_from_env_tokens_file_with_a_guarded_or_chosen_control_plane_starts(extra: dict[str, str]) -> None:
    settings = Settings.from_env({"LOGFILES_TOKENS_FILE": "/etc/tokens.json", **extra})
    assert settings.tokens_file == "/etc/tokens.json"


def test_from_env_max_stored_bytes_defaults_to_one_gib_and_reads_digits() -> None:
    assert Settings.from_env({}).max_stored_bytes == 1024**3
    assert Settings.from_env({"LOGFILES_MAX_STORED_BYTES": "2048"}).max_stored_bytes == 2048
    assert Settings.from_env({"LOGFILES_MAX_STORED_BYTES": "0"}).max_stored_bytes == 0


@pytest.mark.parametrize("value", ["-1", "1GiB", "1_000", str(1024**4 + 1), str(2**70)])
def test_from_env_max_stored_bytes_out_of_range_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LOGFILES_MAX_STORED_BYTES": value})
    assert info.value.variable == "LOGFILES_MAX_STORED_BYTES"
    assert "\n" not in str(info.value)


def test_region_is_one_of_the_guides_and_defaults_to_dfw() -> None:
    assert Settings.from_env({}).region == "DFW"
    assert Settings.from_env({"LOGFILES_REGION": " lon "}).region == "LON"
    with pytest.raises(ConfigError, match="LOGFILES_REGION: must be one of the guide's regions"):
        Settings.from_env({"LOGFILES_REGION": "EU-WEST"})
