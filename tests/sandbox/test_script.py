"""The directive grammar of the scripted model, without HTTP."""

from __future__ import annotations

from openai_assistant_engine.sandbox.script import (
    Call,
    Ending,
    count_words,
    parse_script,
    text_chunks,
)


def test_plain_text_has_no_directives_and_the_reply_echoes_it() -> None:
    script = parse_script("  Hello there\nsecond line  ")
    assert script.rounds == () and script.loop == () and script.ending is None
    assert script.steps == 1
    turn = script.next_turn(0)
    assert turn.calls == () and turn.ending is None
    assert turn.reply == "Echo: Hello there\nsecond line"


def test_call_lines_are_parallel_calls_of_round_one_with_verbatim_arguments() -> None:
    script = parse_script('Weather?\ncall:weather {"city": "Paris"}\ncall:add {not json\ncall:now')
    assert script.next_turn(0).calls == (
        Call("weather", '{"city": "Paris"}'),
        Call("add", "{not json"),
        Call("now", "{}"),
    )
    assert script.text == "Weather?"


def test_numbered_calls_are_asked_in_later_rounds_then_the_model_answers() -> None:
    script = parse_script("call:a {}\ncall2:b {}\ncall2:c {}\ncall3:d {}")
    assert [c.name for c in script.next_turn(0).calls] == ["a"]
    assert [c.name for c in script.next_turn(1, [("a", "1")]).calls] == ["b", "c"]
    assert [c.name for c in script.next_turn(2, [("b", "2"), ("c", "3")]).calls] == ["d"]
    final = script.next_turn(3, [("d", "4")])
    assert final.calls == () and final.reply == "Tool results: d=4"


def test_tool_results_reply_lists_every_output_of_the_last_round_in_call_order() -> None:
    turn = parse_script("call:a\ncall:b").next_turn(1, [("a", "x y"), ("b", "z")])
    assert turn.reply == "Tool results: a=x y; b=z"


def test_loop_asks_for_the_same_call_after_every_round_forever() -> None:
    script = parse_script('loop:again {"n": 1}')
    for rounds_done in (0, 1, 7, 100):
        assert script.next_turn(rounds_done, [("again", "ok")]).calls == (
            Call("again", '{"n": 1}'),
        )


def test_endings_parse_with_fail_code_and_message() -> None:
    assert parse_script("fail:server_error The model crashed").ending == Ending(
        "fail", "server_error", "The model crashed"
    )
    assert parse_script("fail:rate_limit_exceeded").ending.message  # a default message
    for word in ("expire", "incomplete", "cancel"):
        assert parse_script(f"hi\n{word}").ending == Ending(word)
    assert parse_script("expire\nfail:x y").ending == Ending("expire")  # the first one wins


def test_endings_apply_where_the_reply_would_be_after_all_rounds_of_calls() -> None:
    script = parse_script("call:a {}\nfail:server_error boom")
    assert script.next_turn(0).calls == (Call("a", "{}"),)
    final = script.next_turn(1, [("a", "1")])
    assert final.ending == Ending("fail", "server_error", "boom") and final.reply == ""


def test_incomplete_still_carries_the_cut_reply() -> None:
    turn = parse_script("some words\nincomplete").next_turn(0)
    assert turn.ending == Ending("incomplete") and turn.reply == "Echo: some words"


def test_directive_only_messages_echo_an_empty_string() -> None:
    assert parse_script("steps:3").next_turn(0).reply == "Echo: "
    assert parse_script("steps:3").steps == 3


def test_lookalike_lines_stay_plain_text() -> None:
    script = parse_script("call: spaced {}\nexpire now\nsteps:x\nloop2:a {}")
    assert script.rounds == () and script.loop == () and script.ending is None
    assert script.steps == 1
    assert script.text == "call: spaced {}\nexpire now\nsteps:x\nloop2:a {}"


def test_text_chunks_concatenate_back_to_the_text() -> None:
    for text in ("Echo: hello  big world ", "one", "", "  lead"):
        assert "".join(text_chunks(text)) == text
    assert len(text_chunks("Echo: a b c")) == 4


def test_word_count_is_whitespace_separated_words() -> None:
    assert count_words("a b\nc", "  ", "d") == 4
