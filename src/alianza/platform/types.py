"""Column types: exact decimals on every backend.

PostgreSQL stores ``Numeric(18, places)``. SQLite has no exact decimal type (its NUMERIC is a
double), so there the same column holds the value as a scaled integer (cents for money): sums in
SQL stay exact and nothing is ever rounded through a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def exact_decimal(value: Any, places: int, what: str = "amount") -> Decimal:
    """``value`` as a Decimal with at most ``places`` decimals; refuses floats and extra digits."""
    if isinstance(value, float):
        raise ValueError(f"{what}: give a Decimal or a string, not a float ({value!r})")
    if isinstance(value, bool):
        raise ValueError(f"{what}: not a number ({value!r})")
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except Exception as error:  # decimal.InvalidOperation and friends
        raise ValueError(f"{what}: not a number ({value!r})") from error
    if not number.is_finite():
        raise ValueError(f"{what}: must be finite ({value!r})")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -places and number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{what}: at most {places} decimal places ({value})")
    return number.quantize(Decimal(1).scaleb(-places))


class FixedDecimal(TypeDecorator[Decimal]):
    """An exact decimal with ``places`` decimals: Numeric on PostgreSQL, scaled integer on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, places: int = 2, precision: int = 18) -> None:
        super().__init__(precision=precision, scale=places, asdecimal=True)
        self.places = places
        self.precision = precision

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.places, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = exact_decimal(value, self.places)
        if dialect.name == "sqlite":
            return int(number.scaleb(self.places))
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)).scaleb(-self.places)).quantize(
                Decimal(1).scaleb(-self.places)
            )
        return Decimal(value).quantize(Decimal(1).scaleb(-self.places))


def Money() -> FixedDecimal:  # noqa: N802 - reads as a type in column declarations
    """Money: 18 digits, 2 decimals (cents)."""
    return FixedDecimal(2)


def Quantity() -> FixedDecimal:  # noqa: N802
    """Physical quantities (kg, hectares): 3 decimals."""
    return FixedDecimal(3)


def Rate() -> FixedDecimal:  # noqa: N802
    """Exchange rates and shares: 8 decimals."""
    return FixedDecimal(8)
