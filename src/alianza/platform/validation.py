"""Turning pydantic validation errors into refusals that name the field and the reason."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from alianza.platform.errors import Refused

ModelT = TypeVar("ModelT", bound=BaseModel)


def describe(error: ValidationError) -> str:
    """``field.path: reason; ...`` for every problem in ``error``."""
    parts = []
    for problem in error.errors():
        path = ".".join(str(p) for p in problem["loc"]) or "(input)"
        parts.append(f"{path}: {problem['msg']}")
    return "; ".join(parts)


def validated(model: type[ModelT], data: Any) -> ModelT:
    """``data`` validated as ``model``, or :class:`Refused` saying what is wrong."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Refused(f"invalid {model.__name__}: {describe(error)}") from None
