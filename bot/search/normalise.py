"""From what a worker types on a phone to canonical tokens.

traditional -> simplified (OpenCC), full-width -> half-width, emoji and punctuation dropped, repeated characters
collapsed, polite filler dropped, homophone typos from pinyin input repaired (空古 -> 空鼓), jieba segmentation with
the domain dictionary, synonyms rewritten to their canonical word.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import jieba
import opencc
import yaml

log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

MAX_QUERY_CHARS = 200  # a 4,000-character message is searched by its beginning

GREETINGS = ("师傅好", "师傅们好", "老师好", "各位好", "领导好", "您好", "你好", "哈喽", "嗨", "早上好", "下午好", "晚上好", "大家好", "在吗", "在不在", "hello", "hi")
THANKS = ("谢谢", "多谢", "感谢", "谢了", "辛苦了", "thanks", "thank you", "3q")
FILLER = ("请问一下", "请问", "请教一下", "请教", "问一下", "问下", "想问一下", "想问", "咨询一下", "咨询",
          "师傅们", "师傅", "老师", "大佬", "各位", "麻烦", "求助", "求解", "在线等", "帮忙看看",
          "帮我看看", "帮忙", "一下", "质量通")
# Particles and function words that never decide a topic.
STOP_TOKENS = frozenset("的 了 吗 呢 吧 啊 呀 哦 嗯 哈 啦 嘛 么 和 与 及 或 在 是 有 我 你 他 她 它 我们 你们 这 那 这个 那个 这种 "
                        "一个 个 就 都 也 还 又 很 太 把 被 给 让 对 跟 要 会 能 可以 得 地 着 过 之 其 该 些 一些 吧 哇 诶 "
                        "哎 唉 嘿 喂 啥 咱 咱们 俺 人家 自己 急".split())

# Southern-Mandarin and input-method confusions treated as the same sound (Hainan speakers often mix n/l).
_FUZZY_INITIALS = [("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("r", "l"), ("f", "h")]
_FUZZY_FINALS = [("ing", "in"), ("eng", "en"), ("ang", "an")]

_CJK = re.compile(r"[\u4e00-\u9fff]+")
_KEEP = re.compile(r"[^0-9a-z.%\u4e00-\u9fff]+")
_REPEATS = re.compile(r"(.)\1{2,}")
_MENTION = re.compile(r"@[A-Za-z0-9_]{3,}")  # "@qualitybot" in a group message names the bot, not the problem
_NOISE_TOKEN = re.compile(r"[a-z]|[.%]+")    # option letters of exam stems (A. B. C.) and stray dots


def cache_dir() -> Path:
    """Where jieba keeps its dictionary cache between runs (fast start-up needs it warm)."""
    base = os.environ.get("QB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qualitybot")
    path = Path(base)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError:
        path = Path(tempfile.gettempdir()) / "qualitybot-cache"
        path.mkdir(parents=True, exist_ok=True)
    return path


def fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long):]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


@dataclass
class Normalised:
    original: str
    text: str                      # cleaned text, typos repaired, before segmentation
    tokens: list[str]              # canonical content tokens
    clauses: list[list[str]] = field(default_factory=list)  # the same tokens, by clause (between punctuation)
    greeting: bool = False
    thanks: bool = False
    corrections: list[tuple[str, str]] = field(default_factory=list)

    @property
    def canonical(self) -> str:
        return "".join(self.tokens)


class Normaliser:
    """Built once per knowledge base (its words join jieba's dictionary); safe to share, read-only after build."""

    def __init__(self, user_dict: Path | None, synonyms: Path | None, extra_words: list[str]):
        self.converter = opencc.OpenCC("t2s")
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.tmp_dir = str(cache_dir())
        self.tokenizer.initialize()
        self.synonyms: dict[str, str] = {}
        vocabulary: set[str] = set()
        if user_dict is not None and user_dict.is_file():
            self.tokenizer.load_userdict(str(user_dict))
            for line in user_dict.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    vocabulary.add(line.split()[0])
        if synonyms is not None and synonyms.is_file():
            for group in (yaml.safe_load(synonyms.read_text(encoding="utf-8")) or {}).get("groups", []):
                words = [self._clean(str(word)) for word in group]
                words = [w for w in words if w]
                for word in words:
                    self.synonyms.setdefault(word, words[0])
                vocabulary.update(words)
        for word in extra_words:
            cleaned = self._clean(word)
            if 2 <= len(cleaned) <= 10 and _CJK.fullmatch(cleaned):
                vocabulary.add(cleaned)
        # jieba must know every word we canonicalise, or it would cut it in pieces.
        for word in sorted(vocabulary):
            if _CJK.fullmatch(word) and len(word) >= 2 and not self.tokenizer.FREQ.get(word):
                self.tokenizer.add_word(word, freq=3000)
        self.vocabulary = vocabulary
        self._pinyin_cache: dict[str, str] = {}
        self.sound_alike: dict[str, str] = {}
        self.fuzzy_sound_alike: dict[str, str] = {}
        ambiguous: set[str] = set()
        for word in sorted(vocabulary, key=len):
            if not _CJK.fullmatch(word) or not 2 <= len(word) <= 5:
                continue
            canonical = self.synonyms.get(word, word)
            syllables = self._syllables(word)
            for table, key in ((self.sound_alike, " ".join(syllables)),
                               (self.fuzzy_sound_alike, " ".join(fuzzy_syllable(s) for s in syllables))):
                if key in table and self.synonyms.get(table[key], table[key]) != canonical:
                    ambiguous.add(key)
                table.setdefault(key, word)
        for key in ambiguous:
            self.sound_alike.pop(key, None)
            self.fuzzy_sound_alike.pop(key, None)

    def _syllables(self, text: str) -> list[str]:
        result = []
        for char in text:
            syllable = self._pinyin_cache.get(char)
            if syllable is None:
                from pypinyin import Style, lazy_pinyin  # imported only for characters outside the table

                syllable = lazy_pinyin(char, style=Style.NORMAL)[0]
                self._pinyin_cache[char] = syllable
            result.append(syllable)
        return result

    def precompute_pinyin(self) -> None:
        """Pinyin of every character jieba knows as a word, so that queries rarely need pypinyin at all."""
        self._syllables("".join(w for w, f in self.tokenizer.FREQ.items() if len(w) == 1 and f and _CJK.match(w)))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("converter")
        tokenizer = state.pop("tokenizer")
        state["_jieba"] = (tokenizer.FREQ, tokenizer.total, tokenizer.user_word_tag_tab)
        return state

    def __setstate__(self, state: dict) -> None:
        freq, total, tags = state.pop("_jieba")
        self.__dict__.update(state)
        self.converter = opencc.OpenCC("t2s")
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.FREQ, self.tokenizer.total, self.tokenizer.user_word_tag_tab = freq, total, tags
        self.tokenizer.initialized = True

    def _clean(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", self.converter.convert(text)).lower()
        text = _KEEP.sub(" ", text)
        text = _REPEATS.sub(r"\1", text)
        return " ".join(text.split())

    def clean(self, text: str) -> str:
        """Text folded the way queries are (simplified, half-width, lower case, no punctuation or repeats)."""
        return self._clean(text)

    def _is_word(self, text: str) -> bool:
        return text in self.vocabulary or bool(self.tokenizer.FREQ.get(text))

    def _repair_typos(self, run: str, corrections: list[tuple[str, str]]) -> str:
        """Replace fragments that are not words but sound like a domain word (空古 -> 空鼓, 为生间 -> 卫生间).

        Only spans that jieba could not read as words (they contain single-character pieces) are candidates, so
        a real word is never rewritten and a repair never cuts across one.
        """
        if not self.sound_alike:
            return run
        pieces = list(self.tokenizer.cut(run, HMM=False))
        output: list[str] = []
        i = 0
        while i < len(pieces):
            for j in range(min(len(pieces), i + 4), i, -1):
                span = pieces[i:j]
                text = "".join(span)
                if not 2 <= len(text) <= 5 or all(len(p) > 1 for p in span) or self._is_word(text):
                    continue
                if any(char in STOP_TOKENS for char in text):
                    continue  # input methods do not turn particles into typos
                key = self._syllables(text)
                word = self.sound_alike.get(" ".join(key))
                if word is None and len(text) >= 3:
                    word = self.fuzzy_sound_alike.get(" ".join(fuzzy_syllable(s) for s in key))
                if word is not None and word != text:
                    corrections.append((text, word))
                    output.append(word)
                    i = j
                    break
            else:
                output.append(pieces[i])
                i += 1
        return "".join(output)

    def normalise(self, raw: str) -> Normalised:
        text = self._clean(_MENTION.sub(" ", raw or ""))[:MAX_QUERY_CHARS]
        greeting = any(word in text for word in GREETINGS)
        thanks = any(word in text for word in THANKS)
        for phrase in (*GREETINGS, *THANKS, *FILLER):
            if phrase in text:
                text = text.replace(phrase, " ")
        corrections: list[tuple[str, str]] = []
        text = _CJK.sub(lambda match: self._repair_typos(match.group(0), corrections), text)
        text = " ".join(text.split())
        # jieba never joins across a space, so the tokens of the parts are the tokens of the whole
        clauses = [tokens for tokens in (self.tokens(part) for part in text.split(" ")) if tokens]
        return Normalised(original=raw, text=text, tokens=[token for clause in clauses for token in clause],
                          clauses=clauses, greeting=greeting, thanks=thanks, corrections=corrections)

    def tokens(self, cleaned: str) -> list[str]:
        """Canonical content tokens of already-cleaned text."""
        result = []
        for token in self.tokenizer.cut(cleaned, HMM=False):
            token = token.strip()
            if not token or token in STOP_TOKENS or _NOISE_TOKEN.fullmatch(token):
                continue
            result.append(self.synonyms.get(token, token))
        return result

    def tokens_of(self, text: str) -> list[str]:
        """Tokens of knowledge-base text (cleaned the same way as queries, without typo repair)."""
        return self.tokens(self._clean(text))
