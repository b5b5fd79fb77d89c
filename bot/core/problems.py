"""Bad user input as a code and parameters, so each reader gets it in their own language.

The same parse functions check a chat's `/schedule 25:00` and an operator's config file: the
exception's str() is the English text config errors and logs show, and the command layer renders
`localized(language)` for a chat, so a Chinese reply carries no English details.
"""

from __future__ import annotations

# code -> {language: template}; a parameter that is a `Term` is itself looked up in TERMS.
PROBLEMS: dict[str, dict[str, str]] = {
    "time_format": {
        "en": 'invalid {what} "{text}": expected HH:MM, e.g. 08:00',
        "zh": "{what}“{text}”无效：应为 HH:MM，例如 08:00",
    },
    "time_hour": {
        "en": 'invalid {what} "{text}": the hour must be 00-23',
        "zh": "{what}“{text}”无效：小时应为 00-23",
    },
    "time_minute": {
        "en": 'invalid {what} "{text}": the minutes must be 00-59',
        "zh": "{what}“{text}”无效：分钟应为 00-59",
    },
    "schedule_empty": {"en": "the schedule is empty: {help}", "zh": "推送时间为空：{help}"},
    "schedule_unknown": {
        "en": 'unknown schedule "{text}": {help}',
        "zh": "无法识别的推送时间“{text}”：{help}",
    },
    "schedule_no_times": {
        "en": 'the schedule "{text}" lists no times: {help}',
        "zh": "推送时间“{text}”没有写时间：{help}",
    },
    "schedule_too_many": {
        "en": "too many times in the schedule ({count}): at most {limit}",
        "zh": "推送时间太多（{count} 个）：最多 {limit} 个",
    },
    "weekly_format": {
        "en": 'the weekly schedule "{text}" needs a day and a time: {help}',
        "zh": "每周推送“{text}”需要写星期几和时间：{help}",
    },
    "weekly_too_many": {
        "en": 'the weekly schedule "{text}" has more than one day and one time: e.g. "weekly Mon 09:00"',
        "zh": "每周推送“{text}”只能有一个星期几和一个时间，例如 weekly 周一 09:00",
    },
    "weekday_unknown": {
        "en": 'unknown day "{text}": use Mon, Tue, Wed, Thu, Fri, Sat or Sun (or Monday...)',
        "zh": "无法识别的星期“{text}”：请用 周一…周日 或 星期一…星期日",
    },
    "quiet_format": {
        "en": 'invalid quiet hours "{text}": expected HH:MM-HH:MM, e.g. 22:00-07:00',
        "zh": "“{text}”应为 HH:MM-HH:MM，例如 22:00-07:00",
    },
    "quiet_same": {
        "en": 'invalid quiet hours "{text}": start and end are the same time',
        "zh": "“{text}”的开始和结束是同一时间",
    },
    "zone_empty": {
        "en": 'the time zone name is empty: use an IANA name such as "Asia/Shanghai" or "UTC"',
        "zh": "时区名称为空：请用 IANA 时区名，例如 Asia/Shanghai 或 UTC",
    },
    "zone_unknown": {
        "en": 'unknown time zone "{name}": use an IANA name such as "Asia/Shanghai" or "UTC"',
        "zh": "未知时区“{name}”：请用 IANA 时区名，例如 Asia/Shanghai 或 UTC",
    },
    "keyword_blank": {"en": "empty keyword in {word!r}", "zh": "“{word}”里没有关键词"},
    "keyword_long": {
        "en": "keyword longer than {limit} characters",
        "zh": "关键词超过 {limit} 个字符",
    },
    "keywords_max": {"en": "at most {limit} keywords", "zh": "最多 {limit} 个关键词"},
    "keyword_not_text": {"en": "keyword {term}: must be text", "zh": "关键词 {term} 必须是文字"},
    "keyword_too_long": {
        "en": "keyword {term!r}: longer than {limit} characters",
        "zh": "关键词“{term}”超过 {limit} 个字符",
    },
    "keyword_star": {
        "en": "keyword {term!r}: '*' is only allowed at the end, for a prefix match",
        "zh": "关键词“{term}”：* 只能放在末尾，表示前缀匹配",
    },
    "keyword_empty": {"en": "keyword {term!r}: is empty", "zh": "关键词“{term}”是空的"},
    "search_empty": {"en": "nothing to search for", "zh": "没有要搜索的内容"},
    "search_too_long": {
        "en": "the search is longer than {limit} characters",
        "zh": "搜索内容超过 {limit} 个字符",
    },
    "search_too_many_words": {"en": "at most {limit} words", "zh": "最多 {limit} 个词"},
}

TERMS: dict[str, dict[str, str]] = {
    "time": {"en": "time", "zh": "时间"},
    "quiet_start": {"en": "quiet hours start", "zh": "免打扰开始时间"},
    "quiet_end": {"en": "quiet hours end", "zh": "免打扰结束时间"},
    "schedule_help": {
        "en": 'use "instant", "at HH:MM" (several times separated by commas, e.g. "at 08:00, 20:30")'
        ' or "weekly DAY HH:MM" (e.g. "weekly Mon 09:00")',
        "zh": "请用 instant（即时）、at HH:MM（多个时间用逗号分隔，例如 at 08:00, 20:30）"
        "或 weekly 星期 HH:MM（例如 weekly 周一 09:00）",
    },
}


class Term(str):
    """A parameter that is a word of the catalog (TERMS), translated along with the message."""

    __slots__ = ()


class Problem(ValueError):
    """A user's input error: `code` names a PROBLEMS entry, `params` fill it in.

    A ValueError, so pydantic validators and every existing `except ValueError` keep working.
    """

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(self.localized("en"))

    def localized(self, language: str) -> str:
        """The message in `language` (zh*, else English)."""
        key = "zh" if language.startswith("zh") else "en"
        values = {name: TERMS[v][key] if isinstance(v, Term) else v for name, v in self.params.items()}
        return PROBLEMS[self.code][key].format(**values)


def localized(error: Exception, language: str) -> str:
    """An error's text for a reader: a Problem in their language, anything else as it is."""
    return error.localized(language) if isinstance(error, Problem) else str(error)
