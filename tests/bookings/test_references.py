import itertools

import pytest

from vaxbook.bookings import references


def test_new_references_are_nine_unambiguous_characters_that_pass_their_own_check() -> None:
    for _ in range(1000):
        reference = references.new_reference()
        assert len(reference) == 9
        assert not set(reference) & set("01OIL")
        assert references.normalize(reference) == reference


def test_typed_reference_is_accepted_in_any_case_with_spaces_and_hyphens() -> None:
    reference = references.new_reference()
    typed = f" {references.display(reference).lower()} ".replace("-", " - ")
    assert references.normalize(typed) == reference


def test_display_groups_the_reference_in_threes_for_reading_aloud() -> None:
    assert references.display("ABCDEFGH2") == "ABC-DEF-GH2"


def test_every_single_character_typo_is_caught() -> None:
    reference = references.new_reference()
    for position, wrong in itertools.product(range(9), references.ALPHABET):
        if reference[position] == wrong:
            continue
        typo = reference[:position] + wrong + reference[position + 1 :]
        with pytest.raises(references.MalformedReference):
            references.normalize(typo)


def test_every_swap_of_two_different_characters_is_caught() -> None:
    reference = references.new_reference()
    for i, j in itertools.combinations(range(9), 2):
        if reference[i] == reference[j]:
            continue
        chars = list(reference)
        chars[i], chars[j] = chars[j], chars[i]
        with pytest.raises(references.MalformedReference):
            references.normalize("".join(chars))


@pytest.mark.parametrize(
    "typed",
    ["", "ABC", "ABCDEFGH23", "ABCDEFGH0", "ABCDEFGHO", "ABCDEFGHI", "ABCDEFGHL", "ÄBCDEFGH2"],
)
def test_wrong_length_or_lookalike_characters_are_refused(typed: str) -> None:
    with pytest.raises(references.MalformedReference):
        references.normalize(typed)
