"""The duplicate rule, one for records against the registry and records of the same file.

Two records are the same person when they share a national ID or a phone (E.164); they may be
when their names are close (accents and case ignored, difflib ratio >= :data:`CLOSE_NAME_RATIO`)
in the same village. :class:`DuplicateIndex` holds the registry's farmers (built from one query)
and the rows of a file as they are checked, so every check is a dictionary lookup; close names
are found for a whole file at once, village by village, with an exact upper bound on difflib's
ratio (shared letters, as ``SequenceMatcher.quick_ratio``) computed with NumPy over all pairs, so
that ``ratio()`` runs only on the few pairs that can reach the threshold.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from alianza.problems import Message

# Names at least this similar (difflib ratio on normalised names) in one village may be one person.
CLOSE_NAME_RATIO = 0.85
# difflib ratios computed at most per row (on the names most alike by their letters).
CANDIDATES_PER_ROW = 20


@functools.lru_cache(maxsize=1 << 17)  # a village's names, normalised once per process
def normalised_name(name: str) -> str:
    """Lower case, no accents, single spaces: 'José  Pérez' and 'jose perez' compare equal."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().split())


def names_close(a: str, b: str) -> bool:
    return _close(normalised_name(a), normalised_name(b))


def _close(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= CLOSE_NAME_RATIO


def close_to(name: str, others: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """The (id, name) pairs of ``others`` whose name is close to ``name``: one matcher holds
    ``name`` (difflib analyses its second sequence once), and the cheap upper bounds
    (lengths, then shared letters) rule most names out before ``ratio()``."""
    matcher = difflib.SequenceMatcher(None, "", normalised_name(name))
    for other_id, other in others:
        matcher.set_seq1(normalised_name(other))
        if (
            matcher.real_quick_ratio() >= CLOSE_NAME_RATIO
            and matcher.quick_ratio() >= CLOSE_NAME_RATIO
            and matcher.ratio() >= CLOSE_NAME_RATIO
        ):
            yield other_id, other


@dataclass(frozen=True)
class Person:
    """A farmer as the duplicate rule sees them: registered (``farmer_id``) or a file's ``row``."""

    name: str
    village_id: int
    phone: str | None
    national_id: str | None
    farmer_id: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        return str(self.said())

    def said(self) -> Message:
        """The person as a report names them: ``farmer 12 (Ana)`` or ``row 5 (Ana)``."""
        if self.farmer_id is not None:
            return Message("farmer %(farmer)s (%(name)s)", farmer=self.farmer_id, name=self.name)
        return Message("row %(row)s (%(name)s)", row=self.row, name=self.name)


class DuplicateIndex:
    """Registered farmers and checked rows by national ID, phone and village."""

    def __init__(self, people: Sequence[Person] = ()) -> None:
        self.by_national_id: dict[str, list[Person]] = {}
        self.by_phone: dict[str, list[Person]] = {}
        self.by_village: dict[int, list[Person]] = {}
        for person in people:
            self.add(person)

    def add(self, person: Person) -> None:
        if person.national_id:
            self.by_national_id.setdefault(person.national_id, []).append(person)
        if person.phone:
            self.by_phone.setdefault(person.phone, []).append(person)
        self.by_village.setdefault(person.village_id, []).append(person)

    def same(self, person: Person) -> list[tuple[Person, str]]:
        """Everyone indexed who shares ``person``'s national ID or phone, with which."""
        found: dict[int, tuple[Person, str]] = {}
        for key, index, reason in (
            (person.national_id, self.by_national_id, "national_id"),
            (person.phone, self.by_phone, "phone"),
        ):
            for other in index.get(key, []) if key else []:
                if other is not person:
                    found.setdefault(id(other), (other, reason))
        return list(found.values())


# Letters a–z, space, and five buckets for every other character: merging characters into a
# bucket keeps the shared-letter count an upper bound (a sum of minima <= the minimum of sums).
_ALPHABET = 32


def _letter_counts(names: Sequence[str]) -> np.ndarray:
    counts = np.zeros((len(names), _ALPHABET), dtype=np.int16)
    for i, name in enumerate(names):
        for ch in name:
            code = ord(ch) - 97
            counts[i, code if 0 <= code < 26 else 26 if ch == " " else 27 + ord(ch) % 5] += 1
    return counts


def close_names(
    registered: Sequence[Person],
    rows: Sequence[Person],
    ignore: Callable[[Person, Person], bool] = lambda row, other: False,
    block: int = 256,
) -> Iterator[tuple[Person, Person]]:
    """(row, earlier) pairs of close names in the same village: each row of the file against
    the registered farmers and the rows before it (pairs ``ignore`` names left out)."""
    registered_by_village: dict[int, list[Person]] = {}
    for person in registered:
        registered_by_village.setdefault(person.village_id, []).append(person)
    rows_by_village: dict[int, list[Person]] = {}
    for person in rows:
        rows_by_village.setdefault(person.village_id, []).append(person)
    for village_id, new in rows_by_village.items():
        people = registered_by_village.get(village_id, []) + new
        names = [normalised_name(p.name) for p in people]
        counts = _letter_counts(names)
        lengths = np.array([len(n) for n in names], dtype=np.int32)
        first_new = len(people) - len(new)
        for start in range(first_new, len(people), block):
            stop = min(start + block, len(people))
            shared = np.zeros((stop - start, stop), dtype=np.int32)
            for letter in range(_ALPHABET):
                shared += np.minimum(counts[start:stop, letter, None], counts[None, :stop, letter])
            total = lengths[start:stop, None] + lengths[None, :stop]
            earlier = np.arange(stop)[None, :] < np.arange(start, stop)[:, None]
            # a hair under the threshold: the bound must not lose a pair to float rounding
            possible = earlier & (2 * shared >= (CLOSE_NAME_RATIO - 1e-9) * total)
            bound = np.where(possible, shared * 2 / np.maximum(total, 1), 0)
            for i in np.nonzero(possible.any(axis=1))[0]:
                # the most alike by letters first; a row reports its first close name among the
                # CANDIDATES_PER_ROW most alike, so that a village of look-alike names stays linear
                order = np.argsort(-bound[i], kind="stable")[:CANDIDATES_PER_ROW]
                for j in order:
                    if not possible[i, j]:
                        break
                    if ignore(people[start + i], people[j]):
                        continue
                    if _close(names[start + i], names[j]):
                        yield people[start + i], people[j]
                        break
