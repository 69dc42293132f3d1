import pytest

from bot.render import as_int, escape, plain_name, split_message
from bot.ui.ask import OpenSection, OpenTopic
from bot.ui.contest import ContestCard


def test_escape_neutralises_html():
    assert escape("<b>&\"x\"</b>") == "&lt;b&gt;&amp;\"x\"&lt;/b&gt;"


def test_split_respects_limit_lines_and_entities():
    text = "\n".join(["行" * 100] * 100)
    parts = split_message(text, 4096)
    assert all(len(p) <= 4096 for p in parts) and "".join(parts).replace("\n", "") == text.replace("\n", "")
    entity_text = "a" * 4094 + "&amp;" + "b" * 10
    parts = split_message(entity_text, 4096)
    assert all("&am" not in p or "&amp;" in p for p in parts) and parts[0].endswith("a")


def test_callback_data_limit_counts_bytes():
    assert OpenSection("leak.roof", "re", 12).pack() == "s:leak.roof:re:12"
    assert OpenSection.unpack("s:leak.roof:re:12") == OpenSection("leak.roof", "re", 12)
    with pytest.raises(ValueError):
        OpenTopic("卫" * 21).pack()


def test_numbers_from_users_are_plain_and_bounded():
    assert as_int("42") == 42 and as_int("0") == 0
    for bad in ("", "-1", "4.2", "²", "١٢", "9" * 19, " 1", None):
        assert as_int(bad) is None, bad
    assert ContestCard.unpack("co:" + "9" * 25) is None
    assert ContestCard.unpack("co:²") is None


def test_names_lose_direction_controls():
    assert plain_name(" \u202e王五\u2066 ") == "王五"
    assert plain_name("李\u200f班长") == "李班长"
    assert plain_name(None) == ""
