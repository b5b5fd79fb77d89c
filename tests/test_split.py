"""The one splitter, tested with a plain length cost so every expectation can be counted by hand."""

from __future__ import annotations

import pytest

from bot.core.model import Span
from bot.platforms.discord.render import DiscordLimits
from bot.render.limits import TextLimit
from bot.render.split import Block, block_cost, cut_block, cut_once, pack, split_blocks


def cost(span: Span) -> int:
    return len(span.text)


def block(*lines: str) -> Block:
    return Block(tuple((Span(text),) for text in lines))


def texts(pieces: list[Block]) -> list[list[str]]:
    return [["".join(s.text for s in line) for line in piece.lines] for piece in pieces]


def joined(pieces: list[Block]) -> str:
    return " ".join(" ".join(lines) for lines in texts(pieces))


def test_blocks_that_fit_stay_in_one_part_unchanged() -> None:
    blocks = [block("header"), block("one", "two"), block("three")]
    assert split_blocks(blocks, 100, cost) == [blocks]


def test_a_block_that_does_not_fit_the_rest_of_a_part_starts_the_next_one() -> None:
    blocks = [block("a" * 30), block("b" * 30), block("c" * 30)]
    # 30 + 2 (blank line) + 30 = 62 fits 70; the third block would make 94.
    assert split_blocks(blocks, 70, cost) == [[blocks[0], blocks[1]], [blocks[2]]]


def test_only_a_block_bigger_than_a_part_is_cut() -> None:
    small, big = block("small item"), block("First sentence here. " * 10)
    parts = split_blocks([small, big], 80, cost)
    assert parts[0][0] == small
    assert all(block_cost(piece, cost) <= 80 for part in parts for piece in part)
    assert sum(len(part) for part in parts) > 2


def test_cut_at_the_last_sentence_end_and_drop_the_space_there() -> None:
    head, tail = cut_once(block("One two three. Four five six. Seven eight nine."), 35, cost)
    assert texts([head]) == [["One two three. Four five six."]]
    assert tail is not None and texts([tail]) == [["Seven eight nine."]]


def test_chinese_sentence_ends_need_no_space_and_closing_quotes_stay() -> None:
    text = "第一句话很短。他说：“这是第二句。”然后是第三句，没有结束"
    head, tail = cut_once(block(text), 22, cost)
    assert texts([head]) == [["第一句话很短。他说：“这是第二句。”"]]
    assert tail is not None and texts([tail]) == [["然后是第三句，没有结束"]]


def test_a_dot_inside_a_number_is_not_a_sentence_end() -> None:
    head, _ = cut_once(block("Version 3.5 is out and it is fast"), 20, cost)
    assert texts([head]) == [["Version 3.5 is out"]]


def test_a_line_break_in_the_second_half_beats_a_later_space() -> None:
    head, tail = cut_once(block("a" * 20, "word " * 10), 30, cost)
    assert texts([head]) == [["a" * 20]]
    assert tail is not None and texts([tail])[0][0].startswith("word")


def test_a_space_in_the_second_half_beats_an_early_sentence_end() -> None:
    head, _ = cut_once(block("Hi. " + "word " * 20), 40, cost)
    assert len(texts([head])[0][0]) > 30


def test_an_early_sentence_end_beats_a_hard_cut() -> None:
    head, tail = cut_once(block("Short one. " + "x" * 100), 40, cost)
    assert texts([head]) == [["Short one."]]
    assert tail is not None and texts([tail]) == [["x" * 100]]


def test_a_run_without_any_boundary_is_cut_hard_and_nothing_is_lost() -> None:
    run = "字" * 10_000
    pieces = cut_block(block(run), 4096, cost)
    assert [len(t[0]) for t in texts(pieces)] == [4096, 4096, 1808]
    assert "".join(t[0] for t in texts(pieces)) == run


@pytest.mark.parametrize(
    "cluster",
    [
        "👨\u200d👩\u200d👧",  # a family: emoji joined by zero-width joiners
        "👍🏽",  # an emoji with a skin tone modifier
        "🇨🇳",  # a flag: two regional indicators
        "e\u0301",  # a letter and a combining accent
        "❤\ufe0f",  # a variation selector
    ],
)
def test_a_hard_cut_never_splits_a_visible_character(cluster: str) -> None:
    text = "a" + cluster * 40
    for piece in cut_block(block(text), 16, cost):
        line = "".join(s.text for s in piece.lines[0])
        rest = line[1:] if line.startswith("a") else line
        assert rest == cluster * (len(rest) // len(cluster))


def test_styles_are_kept_on_both_sides_of_a_cut() -> None:
    line = (Span("Plain start. "), Span("Bold one. Bold two. Bold three.", bold=True))
    pieces = cut_block(Block((line,)), 30, cost)
    assert pieces[0].lines[0][-1].bold and pieces[1].lines[0][0].bold
    assert all(span.bold for piece in pieces[1:] for span in piece.lines[0])


def test_first_budget_applies_to_the_first_piece_only() -> None:
    pieces = cut_block(block("x" * 100), 40, cost, first_budget=10)
    assert [len(t[0]) for t in texts(pieces)] == [10, 40, 40, 10]


def test_a_span_whose_markup_cannot_fit_loses_its_formatting_not_its_text() -> None:
    def markup_cost(span: Span) -> int:
        return len(span.text) + (len(span.link) + 4 if span.link else 0)

    link = Span("click here and there", link="https://example.com/" + "p" * 60)
    pieces = cut_block(Block(((link,),)), 16, markup_cost)
    assert joined(pieces) == "click here and there"
    assert all(s.link is None for p in pieces for line in p.lines for s in line)


def test_a_budget_too_small_for_one_character_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too small"):
        cut_once(block("abc"), 1, lambda span: 5 * len(span.text))


def test_pack_respects_the_count_limit_and_keeps_chains_together() -> None:
    chains = [["a1"], ["b1", "b2"], ["c1"]]
    assert pack(chains, len, 100, max_count=2) == [["a1"], ["b1", "b2"], ["c1"]]


def test_pack_rejects_a_piece_larger_than_the_limit() -> None:
    with pytest.raises(ValueError, match="cannot fit"):
        pack([["x" * 20]], len, 10)


def test_the_text_of_the_pieces_is_the_text_of_the_block_modulo_cut_whitespace() -> None:
    text = "Alpha beta. Gamma delta epsilon! Zeta? " * 30
    pieces = cut_block(block(text.strip()), 50, cost)
    assert joined(pieces).split() == text.split()


def test_an_oversized_block_starts_in_the_current_part_when_a_quarter_is_free() -> None:
    header, big = block("header line"), block("Sentence one is here. " * 20)
    parts = split_blocks([header, big], 100, cost)
    assert parts[0][0] == header and len(parts[0]) == 2
    assert all(sum(block_cost(b, cost) for b in part) + 2 * (len(part) - 1) <= 100 for part in parts)


def test_an_oversized_block_starts_a_new_part_when_less_than_a_quarter_is_free() -> None:
    full, big = block("x" * 80), block("Sentence one is here. " * 20)
    parts = split_blocks([full, big], 100, cost)
    assert parts[0] == [full]


def test_the_last_piece_of_a_cut_block_is_filled_with_the_next_blocks() -> None:
    big, small = block("Sentence one is here. " * 6), block("tail")
    parts = split_blocks([big, small], 100, cost)
    assert parts[-1][-1] == small and len(parts[-1]) == 2


def test_limits_too_small_to_hold_text_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        TextLimit(3)
    with pytest.raises(ValueError, match="too small"):
        DiscordLimits(embed_title=0)
    with pytest.raises(ValueError, match="room for a description"):
        DiscordLimits(embed_total=300)
