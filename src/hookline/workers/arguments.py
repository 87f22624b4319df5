"""Check a task's keyword arguments against its signature before the body runs (pydantic)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from hookline.workers.retry import InvalidArguments


@cache
def _model(function: Callable[..., Any]) -> type[BaseModel]:
    function = inspect.unwrap(function)
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):  # an annotation that does not resolve: check names only
        hints = {}
    fields: dict[str, Any] = {}
    extra: Literal["allow", "forbid"] = "forbid"
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind is parameter.VAR_KEYWORD:
            extra = "allow"
        elif parameter.kind is not parameter.VAR_POSITIONAL:
            default = ... if parameter.default is parameter.empty else parameter.default
            fields[name] = (hints.get(name, Any), default)
    config = ConfigDict(extra=extra, arbitrary_types_allowed=True)
    return create_model(f"{function.__name__}_arguments", __config__=config, **fields)


def check(task_name: str, function: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Raise InvalidArguments naming each bad argument (never its value: it may be private)."""
    try:
        _model(function).model_validate(kwargs)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, error['loc'])) or 'arguments'}: {error['msg']}"
                             for error in exc.errors())
        raise InvalidArguments(f"invalid arguments for {task_name}: {problems}") from None
