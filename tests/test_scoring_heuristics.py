"""Heuristic scorers agree with the reference libraries and with hand-checked values."""

from __future__ import annotations

import math

import pytest
import sacrebleu
from rapidfuzz.distance import Levenshtein as RapidLevenshtein
from rouge_score import rouge_scorer

import otel_feedback as fb
from otel_feedback.scoring import (
    BLEU,
    ROUGE,
    Contains,
    Equals,
    IsJson,
    Levenshtein,
    Perplexity,
    RegexMatch,
    Score,
    ScorerConfigError,
)

PAIRS = [
    ("the cat sat on the mat", "the cat is on the mat"),
    ("Paris is the capital of France.", "The capital of France is Paris."),
    ("kitten", "sitting"),
    ("", "something"),
    ("identical text here", "identical text here"),
    ("A quick brown fox jumps over the lazy dog", "the quick brown dog jumps over a lazy fox"),
    ("Ünïcödé strings — with dashes", "Unicode strings - with dashes"),
]


@pytest.mark.parametrize(("output", "expected"), PAIRS)
def test_levenshtein_is_rapidfuzz_normalized_similarity(output: str, expected: str) -> None:
    score = Levenshtein().score(output=output, expected=expected)
    assert score.value == RapidLevenshtein.normalized_similarity(output, expected)
    assert score.name == "levenshtein"
    assert score.source == "CODE"


def test_levenshtein_hand_checked() -> None:
    # kitten -> sitting: 3 edits, longest is 7 characters.
    assert Levenshtein().score(output="kitten", expected="sitting").value == pytest.approx(
        1 - 3 / 7
    )
    assert Levenshtein().score(output="abc", expected="abc").value == 1.0
    assert Levenshtein().score(output="abc", expected="xyz").value == 0.0
    assert Levenshtein().score(output="", expected="").value == 1.0


@pytest.mark.parametrize(("output", "expected"), [p for p in PAIRS if p[0]])
def test_bleu_is_sacrebleu_sentence_bleu_over_100(output: str, expected: str) -> None:
    score = BLEU().score(output=output, expected=expected)
    reference = sacrebleu.sentence_bleu(output, [expected]).score / 100
    assert score.value == pytest.approx(reference, abs=1e-12)
    assert 0.0 <= score.value <= 1.0


def test_bleu_several_references_and_hand_checked() -> None:
    refs = ["the cat is on the mat", "there is a cat on the mat"]
    score = BLEU().score(output="the cat sat on the mat", expected=refs)
    reference = sacrebleu.sentence_bleu("the cat sat on the mat", refs).score / 100
    assert score.value == pytest.approx(reference, abs=1e-12)
    assert BLEU().score(output="same words here", expected="same words here").value == 1.0
    assert BLEU().score(output="alpha beta", expected="gamma delta").value == 0.0


@pytest.mark.parametrize("rouge_type", ["rouge1", "rouge2", "rougeL", "rougeLsum"])
@pytest.mark.parametrize(("output", "expected"), PAIRS)
def test_rouge_is_rouge_score_fmeasure(rouge_type: str, output: str, expected: str) -> None:
    reference = rouge_scorer.RougeScorer([rouge_type]).score(expected, output)[rouge_type]
    assert ROUGE(rouge_type).score(output=output, expected=expected).value == reference.fmeasure


def test_rouge_default_is_rouge_l_with_stemmer_option() -> None:
    out, exp = "the cats were running", "the cat was running"
    plain = rouge_scorer.RougeScorer(["rougeL"]).score(exp, out)["rougeL"].fmeasure
    stemmed = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(exp, out)
    assert ROUGE().score(output=out, expected=exp).value == plain
    assert ROUGE(use_stemmer=True).score(output=out, expected=exp).value == (
        stemmed["rougeL"].fmeasure
    )
    # Hand-checked: LCS of "the cat sat on the mat" / "the cat is on the mat" is 5 of 6.
    hand = ROUGE().score(output="the cat sat on the mat", expected="the cat is on the mat")
    assert hand.value == pytest.approx(5 / 6)


def test_rouge_several_references_take_the_best() -> None:
    refs = ["completely different words", "the cat is on the mat"]
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    best = scorer.score_multi(refs, "the cat sat on the mat")["rougeL"].fmeasure
    assert ROUGE().score(output="the cat sat on the mat", expected=refs).value == best


def test_equals_contains_regex_is_json() -> None:
    assert Equals().score(output="Paris", expected="paris").value == 1.0
    assert Equals(case_sensitive=True).score(output="Paris", expected="paris").value == 0.0
    assert Equals().score(output="Paris", expected="Lyon").value == 0.0
    assert Contains().score(output="The answer is PARIS.", expected="paris").value == 1.0
    assert Contains(case_sensitive=True).score(output="PARIS", expected="paris").value == 0.0
    assert Contains(substring="refund").score(output="No refund possible").value == 1.0
    assert Contains(True).score(output="PARIS", expected="paris").value == 0.0
    with pytest.raises(ScorerConfigError):
        Contains("refund")  # type: ignore[arg-type] # case_sensitive comes first
    assert RegexMatch(r"\d{3}-\d{4}").score(output="call 555-1234").value == 1.0
    assert RegexMatch(r"^\d+$").score(output="12a").value == 0.0
    assert IsJson().score(output='{"a": [1, 2]}').value == 1.0
    bad = IsJson().score(output="{'a': 1}")
    assert bad.value == 0.0
    assert bad.reason is not None
    assert "invalid JSON" in bad.reason
    assert IsJson().score(output={"a": 1}).value == 1.0


def test_perplexity_from_logprobs_in_every_shape() -> None:
    logprobs = [-0.5, -1.0, -1.5]
    expected = math.exp(1.0)
    assert Perplexity().score(logprobs=logprobs).value == pytest.approx(expected)
    openai_shape = {
        "content": [{"token": t, "logprob": lp} for t, lp in zip("abc", logprobs, strict=True)]
    }
    assert Perplexity().score(logprobs=openai_shape).value == pytest.approx(expected)
    completion = {"choices": [{"logprobs": openai_shape, "message": {"content": "abc"}}]}
    assert Perplexity().score(output=completion).value == pytest.approx(expected)
    assert Perplexity().score(logprobs=[0.0, 0.0]).value == 1.0


def test_default_names_and_name_override() -> None:
    assert [s.name for s in (Equals(), IsJson(), Levenshtein(), BLEU(), ROUGE())] == [
        "equals",
        "is_json",
        "levenshtein",
        "bleu",
        "rouge",
    ]
    assert RegexMatch("x").name == "regex_match"
    assert Levenshtein(name="edit_similarity").score(output="a", expected="a").name == (
        "edit_similarity"
    )


def test_score_keywords_unused_are_ignored_unknown_raise() -> None:
    score = IsJson().score(output="[]", expected="ignored", input="ignored", context=["x"])
    assert score.value == 1.0
    with pytest.raises(TypeError):
        IsJson().score(outptu="[]")  # type: ignore[call-arg]


# -- bad input ----------------------------------------------------------------------------------


def test_invalid_regex_is_a_clear_error_at_construction() -> None:
    with pytest.raises(ScorerConfigError, match=r"invalid regular expression '\(unclosed'"):
        RegexMatch("(unclosed")
    with pytest.raises(ScorerConfigError, match="rouge_type"):
        ROUGE("rougeX")


def test_none_is_an_error_not_a_score() -> None:
    for scorer in (Equals(), Contains(), RegexMatch("a"), IsJson(), Levenshtein(), BLEU(), ROUGE()):
        score = scorer.score(output=None, expected="x")
        assert score.value is None, scorer
        assert score.error is not None
        assert "needs output=" in score.error
        assert not score.ok
    missing = Perplexity().score(output=None)
    assert missing.value is None
    assert missing.error is not None


def test_non_string_output_is_scored_as_text() -> None:
    assert Equals().score(output=42, expected="42").value == 1.0
    assert Contains().score(output=b"bytes here", expected="HERE").value == 1.0
    assert Levenshtein().score(output=["a"], expected='["a"]').value == 1.0
    assert IsJson().score(output=3.5).value == 1.0  # "3.5" is a JSON document
    bad = Perplexity().score(logprobs=["x"])
    assert bad.value is None
    assert bad.error is not None
    assert "must be a number" in bad.error
    positive = Perplexity().score(logprobs=[0.5])
    assert positive.value is None


def test_megabyte_strings_are_bounded() -> None:
    big = "word " * 200_000  # 1 MB
    assert Equals().score(output=big, expected=big).value == 1.0  # linear scorers take it
    assert Contains().score(output=big, expected="word word").value == 1.0
    for scorer in (Levenshtein(), BLEU(), ROUGE(), ROUGE("rouge2")):
        score = scorer.score(output=big, expected="word")
        assert score.value is None
        assert score.error is not None
        assert "max_chars" in score.error
    assert fb.diagnostics().get("scoring_input_too_long") == 4
    raised = Levenshtein(max_chars=None).score(output="a" * 60_000, expected="a" * 60_000)
    assert raised.value == 1.0


def test_scores_are_plain_values() -> None:
    score = Equals().score(output="a", expected="a")
    assert isinstance(score, Score)
    assert isinstance(score.value, float)
    assert score.as_dict()["source_id"] == "Equals"


@pytest.mark.parametrize(
    "options",
    [
        {"lowercase": True},
        {"tokenize": "char"},
        {"tokenize": "intl"},
        {"smooth_method": "floor", "smooth_value": 0.1},
        {"smooth_method": "add-k", "smooth_value": 1},
        {"smooth_method": "none"},
    ],
)
@pytest.mark.parametrize(("output", "expected"), [p for p in PAIRS if p[0]])
def test_bleu_options_are_sentence_bleus(
    options: dict[str, object], output: str, expected: str
) -> None:
    reference = sacrebleu.sentence_bleu(output, [expected], **options).score / 100  # type: ignore[arg-type]
    score = BLEU(**options).score(output=output, expected=expected)  # type: ignore[arg-type]
    assert score.value == pytest.approx(reference, abs=1e-12)


def test_bleu_bad_option_is_a_clear_error() -> None:
    with pytest.raises(ScorerConfigError, match="not one of"):
        BLEU(tokenize="no-such-tokenizer")
    with pytest.raises(ScorerConfigError, match="BLEU: invalid option"):
        BLEU(smooth_method="no-such-method")


def test_rouge_lsum_takes_newline_separated_sentences() -> None:
    out = "the cat sat on the mat\nit was happy"
    exp = "the cat is on the mat\nthe cat was happy"
    reference = rouge_scorer.RougeScorer(["rougeLsum"]).score(exp, out)["rougeLsum"].fmeasure
    assert ROUGE("rougeLsum").score(output=out, expected=exp).value == reference


def test_bleu_tokenizers_that_would_download_are_refused() -> None:
    with pytest.raises(ScorerConfigError, match="flores200"):
        BLEU(tokenize="flores200")
