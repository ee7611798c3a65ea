"""What every job's config dataclass shares (``TrainConfig``, ``LabConfig``): dict/JSON round trips, the field
docstrings that ``--help`` and the docs show, and construction from papermill parameters with a clear error."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

C = TypeVar("C", bound="JobConfig")


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
