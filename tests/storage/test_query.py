"""storage.query: the search syntax people type, parsed the same for every backend."""

from __future__ import annotations

import random

import pytest

from storage.query import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    Problem,
    QueryProblem,
    SearchQuery,
    Term,
    parse_phrase,
    parse_query,
)


def groups(text: str, *, prefix_last: bool = False) -> list[list[Term]]:
    return [list(group) for group in parse_query(text, prefix_last=prefix_last).groups]


def test_words_are_all_required() -> None:
    assert groups("Russia Syria") == [[Term(("Russia",))], [Term(("Syria",))]]


def test_a_phrase_is_one_term_in_a_row() -> None:
    assert groups('"Islamic State" Syria') == [
        [Term(("Islamic", "State"), quoted=True)],
        [Term(("Syria",))],
    ]


def test_an_unclosed_quote_runs_to_the_end() -> None:
    assert groups('beyond "the border') == [
        [Term(("beyond",))],
        [Term(("the", "border"), quoted=True)],
    ]


def test_a_word_joined_by_punctuation_is_a_phrase_as_written() -> None:
    assert groups("border,beyond") == [[Term(("border", "beyond"))]]
    assert groups("U.S.") == [[Term(("U", "S"))]]
    assert groups("al-Assad") == [[Term(("al", "Assad"))]]


def test_a_star_makes_a_prefix() -> None:
    assert groups("sanc*") == [[Term(("sanc",), prefix=True)]]
    # In quotes, * is no operator.
    assert groups('"islamic s*"') == [[Term(("islamic", "s"), quoted=True)]]


@pytest.mark.parametrize("text", ["russia -syria", "russia NOT syria"])
def test_exclusions(text: str) -> None:
    query = parse_query(text)
    assert query.required == ((Term(("russia",)),),)
    assert query.excluded == (Term(("syria",), negated=True),)


def test_an_excluded_phrase() -> None:
    assert parse_query('iran -"islamic state"').excluded == (
        Term(("islamic", "state"), negated=True, quoted=True),
    )


@pytest.mark.parametrize("quotes", ["“”", "「」", "『』", "｢｣", "＂＂"])
def test_a_chinese_keyboard_s_quotation_marks_make_a_phrase(quotes: str) -> None:
    """As typed with a Chinese keyboard, or a phone's smart punctuation."""
    opening, closing = quotes
    assert parse_query(f"特朗普 -{opening}美国 总统{closing}") == parse_query('特朗普 -"美国 总统"')
    assert parse_query(f"{opening}Islamic State{closing}") == parse_query('"Islamic State"')


@pytest.mark.parametrize(
    "listed", ["叙利亚，俄罗斯", "叙利亚、俄罗斯", "叙利亚,俄罗斯", "叙利亚；俄罗斯"]
)
def test_words_listed_the_chinese_way_are_words(listed: str) -> None:
    """Chinese lists words with a comma and no space: each is a word, not one phrase."""
    assert parse_query(listed) == parse_query("叙利亚 俄罗斯")
    assert parse_query("Syria,Russia") != parse_query("Syria Russia")  # English: as written


@pytest.mark.parametrize("text", ["iran OR syria", "iran | syria"])
def test_or_makes_alternatives(text: str) -> None:
    assert groups(text) == [[Term(("iran",)), Term(("syria",))]]


def test_and_between_words_changes_nothing() -> None:
    assert (
        parse_query("iran AND syria") == parse_query("iran syria") == parse_query("iran && syria")
    )


def test_or_never_joins_an_exclusion() -> None:
    assert groups("russia OR -syria") == [[Term(("russia",))], [Term(("syria",), negated=True)]]
    assert groups("-syria OR russia") == [[Term(("syria",), negated=True)], [Term(("russia",))]]


def test_operators_are_only_operators_in_capitals() -> None:
    assert groups("iran or syria") == [[Term(("iran",))], [Term(("syria",))]]  # "or" a stop word
    assert groups("not near") == [[Term(("not",))], [Term(("near",))]]


def test_stop_words_are_left_out_when_other_words_remain() -> None:
    assert groups("Russia in") == [[Term(("Russia",))]]
    assert groups("the Senate") == [[Term(("Senate",))]]
    # Quoted, a prefix or excluded, a stop word is kept.
    assert groups('Russia "in"') == [[Term(("Russia",))], [Term(("in",), quoted=True)]]
    assert groups("Russia th*") == [[Term(("Russia",))], [Term(("th",), prefix=True)]]
    assert groups("Russia -the") == [[Term(("Russia",))], [Term(("the",), negated=True)]]


def test_stop_words_do_not_count_toward_the_most_words() -> None:
    """ "-word leaves out" and "plain words all must appear" hold in a long query: stop words
    (left out) do not use up the words a search takes."""
    stop = "and the as at be by for from in is it of on to with"
    assert groups(f"Syria {stop} -Russia") == [
        [Term(("Syria",))],
        [Term(("Russia",), negated=True)],
    ]
    assert len(groups(f"{stop} {' '.join(f'w{n}' for n in range(MAX_TERMS))}")) == MAX_TERMS


def test_words_beyond_the_most_are_a_problem_not_dropped() -> None:
    query = parse_query(" ".join(f"w{n}" for n in range(MAX_TERMS + 3)) + " -Russia")
    beyond = (*(f"w{n}" for n in range(MAX_TERMS, MAX_TERMS + 3)), "-Russia")
    assert query.problem() == QueryProblem(Problem.TOO_MANY_WORDS, beyond)


def test_stop_words_alone_are_searched_for() -> None:
    assert groups("the") == [[Term(("the",))]]
    assert groups("of the") == [[Term(("of",))], [Term(("the",))]]
    assert groups("the -border") == [[Term(("the",))], [Term(("border",), negated=True)]]


def test_term_flags() -> None:
    ((the,),) = parse_query("the").groups
    assert the.is_stop_word and the.of_stop_words
    (of_the,), (th,) = parse_query('the "of the" th*').groups  # the lone "the" left out
    assert of_the.of_stop_words and not of_the.is_stop_word  # a phrase: never left out
    assert not th.of_stop_words


def test_chinese_runs_are_bigrams() -> None:
    # The closing unigram is left out at the end, where the text's run may go on.
    assert groups("叙利亚") == [[Term(("叙利", "利亚"))]]
    # One character is found as the start of a bigram: a prefix.
    assert groups("叙") == [[Term(("叙",), prefix=True)]]


def test_chinese_in_traditional_characters_is_simplified() -> None:
    assert parse_query("蘋果公司") == parse_query("苹果公司")


def test_chinese_and_digits_in_one_word() -> None:
    # The run's unigram stays when something follows the run in the same word.
    assert groups("建国35周年") == [[Term(("建国", "国", "35", "周年"))]]


def test_a_chinese_phrase_spaced_apart_is_also_tried_run_together() -> None:
    assert groups('"叙利亚 政府军"') == [
        [
            Term(("叙利", "利亚", "亚政", "政府", "府军"), quoted=True),
            Term(("叙利", "利亚", "亚", "政府", "府军"), quoted=True),
        ]
    ]
    # Excluded, each form is left out.
    assert len(parse_query('叙利亚 -"利亚 政府"').excluded) == 2


@pytest.mark.parametrize(
    "text", ["", "   ", '"', '""', '" "', "*", "***", "-", "--", "AND", "OR", "NOT", "OR AND NOT |"]
)
def test_odd_input_holds_nothing_to_search_for(text: str) -> None:
    query = parse_query(text)
    assert query == SearchQuery()
    assert query.problem() == QueryProblem(Problem.NOTHING_TO_FIND)


def test_operators_at_the_edges_are_ignored() -> None:
    assert parse_query("OR iran") == parse_query("iran OR") == parse_query("iran")
    assert parse_query("iran NOT") == parse_query("iran")


def test_prefix_last_is_for_typing() -> None:
    assert groups("Russia str", prefix_last=True)[-1] == [Term(("str",), prefix=True)]
    assert groups("Russia str ", prefix_last=True)[-1] == [Term(("str",))]
    assert groups("U.S.", prefix_last=True) == [[Term(("U", "S"))]]  # ends after punctuation
    assert groups('"Islamic St', prefix_last=True) == [[Term(("Islamic", "St"), quoted=True)]]


def test_long_text_is_bounded() -> None:
    assert len(parse_query("word " * 5000).groups) == MAX_TERMS
    assert parse_query("x" * MAX_QUERY_CHARS + " beyond") == parse_query("x" * MAX_QUERY_CHARS)


def test_parse_phrase_takes_the_whole_text() -> None:
    assert parse_phrase("Islamic St") == (Term(("Islamic", "St"), prefix=True),)
    assert parse_phrase("Islamic State ") == (Term(("Islamic", "State")),)
    assert parse_phrase("-a OR b") == (Term(("a", "OR", "b"), prefix=True),)
    assert parse_phrase("***") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("syria", None),
        ("syria -russia", None),
        ("st*", None),
        ("中*", None),  # one Chinese character is a word
        ("s", None),  # the letter itself, not a prefix
        ('"islamic s*"', None),
        ("", QueryProblem(Problem.NOTHING_TO_FIND)),
        ("*", QueryProblem(Problem.NOTHING_TO_FIND)),
        ("-russia", QueryProblem(Problem.ONLY_EXCLUSIONS)),
        ("NOT russia -syria", QueryProblem(Problem.ONLY_EXCLUSIONS)),
        ("-s*", QueryProblem(Problem.ONLY_EXCLUSIONS)),  # the first problem found
        ("s*", QueryProblem(Problem.SHORT_PREFIX, ("s*",))),
        ("Islamic S* -a*", QueryProblem(Problem.SHORT_PREFIX, ("S*", "a*"))),  # as typed
        ("al-a*", QueryProblem(Problem.SHORT_PREFIX, ("al a*",))),
        ("Iraq turkey's*", QueryProblem(Problem.SHORT_PREFIX, ("turkey s*",))),
        ("中A*", QueryProblem(Problem.SHORT_PREFIX, ("中 A*",))),
    ],
)
def test_problems(text: str, problem: QueryProblem | None) -> None:
    assert parse_query(text).problem() == problem


def test_random_text_parses() -> None:
    rng = random.Random(7)
    alphabet = list("abcXYZ 019\"*()^:-+.,;'\\/{}[]~|&!?<>=%$#@叙利亚 \t\nORANDNOTNEAR")
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for prefix_last in (False, True):
            query = parse_query(text, prefix_last=prefix_last)
            assert all(group and all(term.tokens for term in group) for group in query.groups)
            assert all(len(group) == 1 for group in query.groups if group[0].negated)
            assert (query.problem() is None) == bool(query.required and not query.short_prefixes())
