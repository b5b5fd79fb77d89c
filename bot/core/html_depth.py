"""How deep an HTML fragment nests, estimated in one linear pass before the HTML parser sees it.

lexbor (selectolax) walks its stack of open elements for every block-level start tag, so its time
grows with depth times tags: half a megabyte of nested <span> followed by <p> costs half a minute of
CPU. Real content nests a few dozen levels; an entry nesting deeper than `MAX_HTML_DEPTH` is refused.

The estimate follows the HTML tree builder closely enough to bound its stack: void elements never
open, an end tag closes no more than the real parser would, and a start tag first closes what HTML
lets authors leave open at the top (a <p> before a block; a <li>, <dt>/<dd>, <option>, <tr> or
<td>/<th> before another of its kind). Comments and scripts count as markup. So the estimate only
errs on the deep side, and only for odd content.
"""

from __future__ import annotations

import re

MAX_HTML_DEPTH = 512
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source"}
    | {"track", "wbr"}
)
_CLOSES_P = frozenset(
    {"address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset", "figcaption"}
    | {"figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "main", "nav", "ol"}
    | {"p", "pre", "section", "table", "ul"}
)
_END_TAG_REACH = 8
_BLOCK_END = _CLOSES_P | {"center", "dir", "hgroup", "listing", "menu", "summary", "li", "dd", "dt"}
_IMPLIED_END = frozenset({"dd", "dt", "li", "optgroup", "option", "p", "rb", "rp", "rt", "rtc"})
_CLOSES = {
    **dict.fromkeys(_CLOSES_P, frozenset({"p"})),
    "li": frozenset({"li", "p"}),
    "dt": frozenset({"dt", "dd", "p"}),
    "dd": frozenset({"dt", "dd", "p"}),
    "option": frozenset({"option"}),
    "tr": frozenset({"tr", "td", "th"}),
    "td": frozenset({"td", "th"}),
    "th": frozenset({"td", "th"}),
}


def nests_deeper_than(html: str, limit: int = MAX_HTML_DEPTH) -> bool:
    """Whether `html` opens more than `limit` elements inside one another (time linear in its size)."""
    stack: list[str] = []
    for match in _TAG.finditer(html):
        name = match.group(2).lower()
        if name in _VOID:
            continue
        if match.group(1):
            _end_tag(stack, name)
            continue
        closes = _CLOSES.get(name, frozenset())
        while stack and stack[-1] in closes:
            stack.pop()
        stack.append(name)
        if len(stack) > limit:
            return True
    return False


def _end_tag(stack: list[str], name: str) -> None:
    """Close `name` when it is the innermost open element, or, for block and list elements, when only
    a few elements HTML closes implicitly lie above it; otherwise ignore the end tag.

    Never closes more than the real parser (which ignores an end tag whose element is out of scope,
    or hidden under a "special" element for inline ones), and looks at a bounded number of elements so
    that the pass stays linear.
    """
    reach = _END_TAG_REACH if name in _BLOCK_END else 1
    for index in range(len(stack) - 1, max(len(stack) - 1 - reach, -1), -1):
        if stack[index] == name:
            del stack[index:]
            return
        if stack[index] not in _IMPLIED_END:
            return
