"""The close-name rule has one definition (difflib's ratio on normalised names); the fast paths
that find close names — one name against a village, a file against the registry — must agree
with it exactly, whatever the names."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alianza.platform.registry.duplicates import Person, close_names, close_to, names_close

# Names from a small alphabet with accents, capitals and spaces, so that close pairs are common.
names = st.text(alphabet="aábcdeéilmnoóprsuü AJMÑ", min_size=1, max_size=14)


@settings(max_examples=300, deadline=None)
@given(name=names, others=st.lists(names, max_size=12))
def test_close_to_agrees_with_the_rule(name: str, others: list[str]) -> None:
    found = [i for i, _ in close_to(name, list(enumerate(others)))]
    assert found == [i for i, other in enumerate(others) if names_close(other, name)]


@settings(max_examples=200, deadline=None)
@given(registered=st.lists(names, max_size=8), new=names)
def test_one_name_and_a_file_of_one_find_the_same_first_close_name(
    registered: list[str], new: str
) -> None:
    people = [Person(name, 1, None, None, farmer_id=i) for i, name in enumerate(registered)]
    row = Person(new, 1, None, None, row=1)
    pairs = list(close_names(people, [row]))
    close = [i for i, _ in close_to(new, [(p.farmer_id, p.name) for p in people])]
    assert bool(pairs) == bool(close)
    if pairs:
        assert pairs[0][1].farmer_id in close


def test_accents_case_and_spaces_do_not_make_names_different() -> None:
    assert [i for i, _ in close_to("José  Pérez", [(1, "jose perez"), (2, "Ana Ruiz")])] == [1]
