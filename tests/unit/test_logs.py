"""The bot token never appears in logs, whether in messages, arguments or tracebacks."""

import io
import logging

from bot.logs import RedactSecrets, setup_logging

TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"


def test_token_is_redacted_everywhere():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactSecrets([TOKEN]))
    log = logging.getLogger("redaction-test")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("POST https://api.telegram.org/bot%s/sendMessage failed", TOKEN)
        try:
            raise ConnectionError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getUpdates")
        except ConnectionError:
            log.exception("polling failed")
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output and output.count("<redacted>") == 2 and "Traceback" in output


def test_setup_logging_installs_the_filter(capsys):
    setup_logging("INFO", [TOKEN])
    logging.getLogger("anything").error("token=%s", TOKEN)
    assert TOKEN not in capsys.readouterr().err
