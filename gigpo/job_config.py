"""What every job's config dataclass shares (``TrainConfig``, ``LabConfig``): dict/JSON round trips, the field
docstrings that ``--help`` and the docs show, construction from papermill parameters with a clear error, and one
``--flag`` per field for the command line."""
from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from typing import Any, Callable, TypeVar

C = TypeVar("C", bound="JobConfig")


def _optional(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda text: None if text.lower() in ("none", "null") else kind(text)


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {text!r} ({exc.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


class JobConfig:
    """Mixin for a ``@dataclass`` config whose fields each carry a docstring (the string literal under the field)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Each field's docstring (the string literal under it), for ``--help`` and the docs."""
        import ast
        import inspect
        import textwrap

        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
        docs = {}
        for node, after in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(after.value.value.split())
        return docs

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any]) -> C:
        """Build from a dict (e.g. papermill parameters); unknown keys raise ``ValueError`` listing the known ones."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} setting(s) {unknown}; known: {', '.join(cls.field_names())}")
        return cls(**values)

    def replace(self: C, **changes: Any) -> C:
        return type(self).from_dict({**self.to_dict(), **changes})

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser,
                      special: dict[str, dict[str, Any]] | None = None) -> None:
        """One ``--flag`` (dashes, and underscores when the name has them) per field, parsed by its type hint, with
        the field's docstring as help; an omitted flag keeps the dataclass default. ``special`` gives a field its own
        ``add_argument`` keywords (e.g. a value that is a number or a word)."""
        hints = typing.get_type_hints(cls)
        docs = cls.field_docs()
        for name in cls.field_names():
            hint = hints[name]
            flags = [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])
            help_text = docs.get(name, "").replace("%", "%%")  # argparse %-formats help texts
            kw: dict[str, Any] = dict(dest=name, default=argparse.SUPPRESS, help=help_text)
            args, origin = typing.get_args(hint), typing.get_origin(hint)
            if special and name in special:
                kw.update(special[name])
            elif hint is bool:
                kw["action"] = argparse.BooleanOptionalAction
            elif hint in (int, float, str):
                kw["type"] = hint
            elif origin in (typing.Union, types.UnionType) and type(None) in args:
                inner = next(a for a in args if a is not type(None))
                if typing.get_origin(inner) is dict:
                    kw.update(type=_optional(_json_dict), metavar="JSON|none")
                else:
                    kw.update(type=_optional(inner), metavar="VALUE|none")
            elif origin is dict:
                kw.update(type=_json_dict, metavar="JSON")
            elif origin is list:
                kw.update(nargs="*", type=args[0])  # a list field may be given empty: `--report-to` alone is []
            else:  # pragma: no cover - a new field type needs a parser here
                raise TypeError(f"no command-line parser for {cls.__name__}.{name}: {hint}")
            parser.add_argument(*flags, **kw)
