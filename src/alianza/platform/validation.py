"""Turning pydantic validation errors into refusals that name every field and its reason."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from alianza.platform.errors import Invalid
from alianza.problems import Message, Problem, field_path

ModelT = TypeVar("ModelT", bound=BaseModel)


def error_message(error: Any) -> str:
    """One pydantic error's words: the :class:`~alianza.problems.Message` a validator raised
    (``raise ValueError(Message(...))``, kept so that the web says it in the reader's
    language), else pydantic's own English message without its "Value error, " prefix."""
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Message):
        return raised.args[0]
    return str(error["msg"]).removeprefix("Value error, ")


def problems_of(error: ValidationError) -> list[Problem]:
    """Every problem in ``error`` with its field path, in a reader's terms."""
    return [
        Problem(field_path(tuple(problem["loc"])), error_message(problem))
        for problem in error.errors()
    ]


def input_name(model: type[BaseModel]) -> str:
    """'FarmerIn' -> 'farmer', 'TransferIn' -> 'transfer': the input as people name it."""
    name = model.__name__.removesuffix("In")
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return words or model.__name__


def validated(model: type[ModelT], data: Any) -> ModelT:
    """``data`` validated as ``model``, or :class:`Invalid` listing what is wrong."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Invalid(input_name(model), problems_of(error)) from None
