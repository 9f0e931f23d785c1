"""Total rows ("Summe", "Gesamt", a school's subtotal) in a plan table.

People keep sum lines in their plans. A sum line is not a plan item: it is skipped
when its figures (Kosten, Ist-Kosten, Anzahl, whichever it has) equal the sum of the
rows above it, and is a problem naming the row when they do not, because then
either the sum or a row is wrong and nobody can tell which.

"The rows above" is, in this order: the rows of the same school, year and/or
measure when the sum line names any of them (a school's subtotal), the rows since
the previous sum line (a block's subtotal), all rows above (the grand total). A
sum line that matches any of these is right; one that matches none is compared,
in the problem, with the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

_ZERO = Decimal(0)
_NONE: frozenset[str] = frozenset()
Key = tuple[str | None, int | None, str | None]  # (school id, year, measure)


@dataclass(frozen=True)
class Figures:
    """A row's numbers: None where the row has none (or, for plan rows, a wrong one)."""

    budget: Decimal | None = None
    spent: Decimal | None = None
    quantity: int | None = None

    def present(self) -> Iterator[tuple[str, Decimal]]:
        """(field, value) of the figures the row has."""
        for name in ("budget", "spent", "quantity"):
            value = getattr(self, name)
            if value is not None:
                yield name, Decimal(value)


@dataclass
class Sum:
    """Running sums over some plan rows."""

    budget: Decimal = _ZERO
    spent: Decimal = _ZERO
    quantity: Decimal = _ZERO
    rows: int = 0
    first_row: int = 0
    last_row: int = 0
    # Figures (budget, spent, quantity) that some row in it has unreadable: a sum of
    # them says nothing.
    uncertain: set[str] = field(default_factory=set)

    def add(self, row: int, figures: Figures, uncertain: frozenset[str]) -> None:
        """Count one plan row in; `uncertain`: its figures that cannot be read."""
        if figures.budget is not None:
            self.budget += figures.budget
        if figures.spent is not None:
            self.spent += figures.spent
        if figures.quantity is not None:
            self.quantity += figures.quantity
        self.first_row = self.first_row or row
        self.last_row = row
        self.rows += 1
        if uncertain:
            self.uncertain |= uncertain

    def span(self) -> str:
        """The rows summed, in words."""
        if self.rows == 1:
            return f"row {self.first_row}"
        return f"rows {self.first_row}–{self.last_row}"


@dataclass(frozen=True)
class Verdict:
    """What a sum line is: `matches` True (skip it), False (a problem), None (unknown:
    rows above have wrong figures, which are reported themselves).

    Attributes:
        matches: see above.
        sums: the rows the sum line was compared with (the best match, or the first).
        wrong: the field whose figure does not match (when `matches` is False).
    """

    matches: bool | None
    sums: Sum
    wrong: str | None = None


def _matches(key: Key, row_key: Key) -> bool:
    """Whether a plan row belongs to a subtotal's key (its school, year, measure)."""
    return all(part is None or part == own for part, own in zip(key, row_key, strict=True))


@dataclass
class TotalsLedger:
    """The plan rows seen so far, to check sum lines against.

    The grand total is kept running; a block's sum is the grand total less what it
    was at the previous sum line; a subtotal by key is added up only when a sum line
    asks for it and neither of the others matches (sum lines are few).
    """

    grand: Sum = field(default_factory=Sum)
    _at_last_total: Sum = field(default_factory=Sum)
    _rows: list[tuple[int, Key, Figures, frozenset[str]]] = field(default_factory=list)

    def add(self, row: int, key: Key, figures: Figures, uncertain: set[str]) -> None:
        """Count a plan row (not a sum line) in; `uncertain`: its unreadable figures."""
        frozen = frozenset(uncertain) if uncertain else _NONE
        self.grand.add(row, figures, frozen)
        self._rows.append((row, key, figures, frozen))

    def _block(self) -> Sum:
        start = self._at_last_total
        block = Sum(self.grand.budget - start.budget, self.grand.spent - start.spent,
                    self.grand.quantity - start.quantity, self.grand.rows - start.rows)
        if block.rows:
            block.first_row = self._rows[start.rows][0]
            block.last_row = self.grand.last_row
            for _, _, _, unsure in self._rows[start.rows:]:
                block.uncertain |= unsure
        return block

    def _keyed(self, key: Key) -> Sum:
        sums = Sum()
        for row, row_key, figures, unsure in self._rows:
            if _matches(key, row_key):
                sums.add(row, figures, unsure)
        return sums

    def check(self, key: Key, figures: Figures) -> Verdict:
        """Check a sum line's figures against the rows above; starts a new block."""
        stated = {name for name, _ in figures.present()}
        block = self._block()
        self._at_last_total = Sum(self.grand.budget, self.grand.spent, self.grand.quantity,
                                  self.grand.rows)
        candidates = [block] if block.rows and block.rows != self.grand.rows else []
        candidates.append(self.grand)
        if key != (None, None, None):
            candidates.insert(0, self._keyed(key))
        for sums in candidates:
            if not sums.uncertain & stated and _wrong_field(sums, figures) is None:
                return Verdict(True, sums)
        if any(s.uncertain & stated for s in candidates):
            return Verdict(None, candidates[0])
        return Verdict(False, candidates[0], _wrong_field(candidates[0], figures))
def _wrong_field(sums: Sum, figures: Figures) -> str | None:
    for name, value in figures.present():
        if getattr(sums, name) != value:
            return name
    return None
