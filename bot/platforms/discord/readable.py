"""A Discord Create Message body as a person reads it: markdown styled, embeds as framed blocks."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.render.terminal import Terminal

_MARKDOWN = MarkdownIt("commonmark").enable("strikethrough")
_STYLES = {"strong": Terminal.bold, "em": Terminal.italic, "s": Terminal.underline}


def markdown_text(source: str, terminal: Terminal) -> str:
    """Discord markdown (CommonMark inline syntax: emphasis, links, escapes) shown as text."""
    if not source:
        return ""
    stack: list[tuple[str, str, list[str]]] = [("", "", [])]
    for token in _MARKDOWN.parseInline(source)[0].children or []:
        _step(token, stack, terminal)
    while len(stack) > 1:
        _close(stack, terminal)
    return "".join(stack[0][2])


def _step(token: Token, stack: list[tuple[str, str, list[str]]], terminal: Terminal) -> None:
    if token.type.endswith("_open"):
        stack.append((token.type[: -len("_open")], str(token.attrGet("href") or ""), []))
    elif token.type.endswith("_close"):
        _close(stack, terminal)
    elif token.type in ("softbreak", "hardbreak"):
        stack[-1][2].append("\n")
    else:
        stack[-1][2].append(token.content)


def _close(stack: list[tuple[str, str, list[str]]], terminal: Terminal) -> None:
    kind, href, parts = stack.pop()
    text = "".join(parts)
    if kind == "link":
        text = terminal.link(text, href)
    elif kind in _STYLES:
        text = _STYLES[kind](terminal, text)
    stack[-1][2].append(text)


def _embed(embed: dict[str, Any], terminal: Terminal) -> str:
    lines: list[str] = []
    author = embed.get("author", {}).get("name")
    title = markdown_text(embed.get("title", ""), terminal)
    if title:
        title = terminal.bold(title)
        lines.append(terminal.link(title, embed["url"]) if embed.get("url") else title)
    if author:
        lines.append(terminal.italic(author))
    lines += (
        markdown_text(embed.get("description", ""), terminal).split("\n") if "description" in embed else []
    )
    for field in embed.get("fields", []):
        lines.append(f"{terminal.bold(markdown_text(field['name'], terminal))}: ")
        lines[-1] += markdown_text(field["value"], terminal)
    footer = embed.get("footer", {}).get("text")
    if footer:
        lines.append(f"— {footer}")
    return "\n".join(f"│ {line}" for line in "\n".join(lines).split("\n"))


def readable(payload: Any, terminal: Terminal) -> str:
    """The message's content, then each embed as a block framed on its left like Discord's."""
    blocks = [markdown_text(payload.get("content", ""), terminal)] if payload.get("content") else []
    blocks += [_embed(embed, terminal) for embed in payload.get("embeds", [])]
    return "\n\n".join(blocks)
