from pathlib import Path

import pytest

from bot.config import SANDBOX_TOKEN, ConfigError, load_config

TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"


def test_defaults_run_against_the_sandbox():
    config = load_config({}, env_file=None)
    assert config.sandbox and config.effective_token == SANDBOX_TOKEN
    assert (config.host, config.port, config.timezone) == ("127.0.0.1", 8080, "Asia/Shanghai")
    assert config.db_path == Path("data/qualitybot.db")
    assert config.base_url == "http://127.0.0.1:8080/bot"
    assert config.base_file_url == "http://127.0.0.1:8080/file/bot"


def test_values_are_read_and_env_wins_over_dotenv(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("QB_PORT=9000\nQB_ADMIN_IDS=1, 2\n", encoding="utf-8")
    config = load_config({"TELEGRAM_BOT_TOKEN": TOKEN, "QB_PORT": "9100"}, env_file=env_file)
    assert config.port == 9100 and config.admin_ids == {1, 2}
    assert not config.sandbox and config.base_url is None


@pytest.mark.parametrize("env, variable", [
    ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
    ({"QB_ADMIN_IDS": "12,abc"}, "QB_ADMIN_IDS"),
    ({"QB_TIMEZONE": "Mars/Base"}, "QB_TIMEZONE"),
    ({"QB_PORT": "70000"}, "QB_PORT"),
    ({"QB_PORT": "eighty"}, "QB_PORT"),
    ({"QB_HOST": "my host"}, "QB_HOST"),
    ({"QB_WEBHOOK_URL": "http://example.org/hook", "TELEGRAM_BOT_TOKEN": TOKEN}, "QB_WEBHOOK_URL"),
    ({"QB_WEBHOOK_URL": "https://example.org/hook"}, "QB_WEBHOOK_URL"),
    ({"QB_WEBHOOK_URL": "https://example.org/hook", "TELEGRAM_BOT_TOKEN": TOKEN, "QB_WEBHOOK_SECRET": "short"},
     "QB_WEBHOOK_SECRET"),
    ({"QB_LOG_LEVEL": "LOUD"}, "QB_LOG_LEVEL"),
    ({"QB_KNOWLEDGE_DIR": "/nonexistent/knowledge"}, "QB_KNOWLEDGE_DIR"),
    ({"QB_API_TIMEOUT": "0.1"}, "QB_API_TIMEOUT"),
    ({"QB_API_TIMEOUT": "soon"}, "QB_API_TIMEOUT"),
])
def test_invalid_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as error:
        load_config(env, env_file=None)
    assert str(error.value).startswith(variable)


def test_cli_stops_with_one_clear_line(monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("QB_PORT", "99999")
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "QB_PORT" in err[0]
