"""The course's otter-grader master notebooks as book pages with sphinx-exercise directives.

A unit of the course is one master notebook (a jupytext percent script in ``course/``) in ``otter assign``'s
format: raw (or markdown) marker cells ``# BEGIN QUESTION`` (YAML: name, points, manual) ... ``# END QUESTION``,
inside them ``# BEGIN SOLUTION``/``# END SOLUTION`` around solution cells, ``# BEGIN PROMPT``/``# END PROMPT``
around what students get instead, ``# BEGIN TESTS``/``# END TESTS`` around test cells (``# HIDDEN`` first line:
a hidden test), and in code ``# BEGIN SOLUTION``/``# END SOLUTION`` line pairs and ``... # SOLUTION`` lines.
``otter assign`` makes notebooks from it; this makes one MyST page per unit from the same source:

* each question is an ``exercise`` directive: its prompt, the code with solutions cut out as otter cuts them
  (``...`` in their place; a written answer becomes otter's placeholder), and its public tests;
* the instructor page adds a ``solution`` directive (a collapsed dropdown) per question: solution cells, the
  full code and the hidden tests. The student page has no solution directive at all, so no solution text reaches
  its HTML, its search index or its page sources.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MARKER = re.compile(r"^\s*#\s*(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS|PROMPT)\b(.*)$", re.S)
CONFIG_MARKER = re.compile(r"^\s*#\s*ASSIGNMENT CONFIG\b")
INLINE_BEGIN = re.compile(r"^(\s*)#\s*BEGIN SOLUTION(\s+NO PROMPT)?\s*$")
INLINE_END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
INLINE_LINE = re.compile(r"^(\s*)(.*?)\s*#\s*SOLUTION\s*$")
ANSWER_PLACEHOLDER = "_Type your answer here, replacing this text._"  # what otter puts for a written answer
TEST_CONFIG = re.compile(r'""" # BEGIN TEST CONFIG.*?""" # END TEST CONFIG\n?', re.S)


@dataclass
class Question:
    name: str
    points: float | None
    manual: bool
    prompt: list[str] = field(default_factory=list)     # MyST blocks shown to students
    solution: list[str] = field(default_factory=list)   # MyST blocks for the instructor only


def _cell_text(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def marker_of(cell) -> tuple[str, str, str] | None:
    """``("BEGIN", "QUESTION", rest)`` for a marker cell, else None. Code cells are never markers."""
    if cell["cell_type"] == "code":
        return None
    match = MARKER.match(_cell_text(cell))
    return (match.group(1), match.group(2), match.group(3)) if match else None


def student_code(code: str) -> str:
    """The code with its solutions cut out the way ``otter assign`` does."""
    out, skipping = [], False
    for line in code.splitlines():
        begin = INLINE_BEGIN.match(line)
        if begin:
            skipping = True
            if not begin.group(2):  # "NO PROMPT" leaves nothing in place of the solution
                out.append(f"{begin.group(1)}...")
            continue
        if INLINE_END.match(line):
            skipping = False
            continue
        if skipping:
            continue
        inline = INLINE_LINE.match(line)
        if inline:
            indent, statement = inline.groups()
            target = re.match(r"^([\w\[\]\.\'\", ]+?)\s*=(?!=)", statement)
            out.append(f"{indent}{target.group(1)} = ..." if target else f"{indent}...")
            continue
        out.append(line)
    if skipping:
        raise ValueError("a code cell has '# BEGIN SOLUTION' without '# END SOLUTION'")
    return "\n".join(out)


def solution_code(code: str) -> str:
    """The code with otter's solution markers removed (the instructor's full version)."""
    lines = [line for line in code.splitlines() if not (INLINE_BEGIN.match(line) or INLINE_END.match(line))]
    return "\n".join(re.sub(r"\s*#\s*SOLUTION\s*$", "", line) for line in lines)


def _code_block(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def _test_block(code: str) -> tuple[str, bool]:
    code = TEST_CONFIG.sub("", code)
    hidden = code.lstrip().startswith("# HIDDEN")
    return _code_block(re.sub(r"^\s*# HIDDEN\s*\n", "", code)), hidden


def parse_master(path: Path) -> tuple[list[str | Question], str]:
    """The unit as a list of MyST blocks and questions in page order, and its title (first heading)."""
    import jupytext

    notebook = jupytext.read(path)
    items: list[str | Question] = []
    question: Question | None = None
    region = None  # "SOLUTION", "TESTS" or "PROMPT" inside a question
    for cell in notebook.cells:
        text = _cell_text(cell)
        if cell["cell_type"] != "code" and CONFIG_MARKER.match(text):
            continue
        marker = marker_of(cell)
        if marker:
            edge, kind, rest = marker
            if kind == "QUESTION":
                if edge == "BEGIN":
                    if question is not None:
                        raise ValueError(f"{path.name}: question {question.name!r} has no '# END QUESTION'")
                    config = yaml.safe_load(rest) or {}
                    if "name" not in config:
                        raise ValueError(f"{path.name}: a '# BEGIN QUESTION' cell has no 'name:'")
                    question = Question(str(config["name"]), config.get("points"), bool(config.get("manual")))
                else:
                    if question is None:
                        raise ValueError(f"{path.name}: '# END QUESTION' without a question")
                    items.append(question)
                    question, region = None, None
            elif question is None:
                raise ValueError(f"{path.name}: '# {edge} {kind}' outside a question")
            else:
                region = kind if edge == "BEGIN" else None
            continue
        if cell["cell_type"] == "raw" or not text.strip():
            continue
        if question is None:
            items.append(text if cell["cell_type"] == "markdown" else _code_block(text))
        elif region == "SOLUTION" and cell["cell_type"] == "markdown":  # otter leaves students a placeholder
            question.prompt.append(ANSWER_PLACEHOLDER)
            question.solution.append(text)
        elif region == "TESTS":
            block, hidden = _test_block(text)
            (question.solution if hidden else question.prompt).append(block)
        elif cell["cell_type"] == "markdown" or region == "PROMPT":
            question.prompt.append(text if cell["cell_type"] == "markdown" else _code_block(text))
        else:  # a code cell of the question (in a solution block or not): otter cuts its inline solutions
            student, full = student_code(text), solution_code(text)
            question.prompt.append(_code_block(student))
            if student != full:
                question.solution.append(_code_block(full))
    if question is not None:
        raise ValueError(f"{path.name}: question {question.name!r} has no '# END QUESTION'")
    title = next((line[2:].strip() for item in items if isinstance(item, str)
                  for line in item.splitlines() if line.startswith("# ")), path.stem)
    return items, title


def unit_page(path: Path, *, solutions: bool) -> str:
    """The MyST page of one unit: exercises, and with ``solutions`` a collapsed solution under each."""
    items, title = parse_master(path)
    unit = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    blocks = [] if any(isinstance(i, str) and i.lstrip().startswith("# ") for i in items) else [f"# {title}"]
    for item in items:
        if isinstance(item, str):
            blocks.append(item)
            continue
        label = f"ex-{unit}-{re.sub(r'[^A-Za-z0-9]+', '-', item.name)}"
        points = f" · {item.points:g} point{'s' if item.points != 1 else ''}" if item.points is not None else ""
        kind = "graded by hand" if item.manual else "checked automatically"
        body = "\n\n".join(item.prompt) or "(see the notebook)"
        blocks.append(f"::::{{exercise}} {item.name}{points} · {kind}\n:label: {label}\n\n{body}\n::::")
        if solutions:
            answer = "\n\n".join(item.solution) or "(no written solution: see the tests above)"
            blocks.append(f"::::{{solution}} {label}\n:class: dropdown\n\n{answer}\n::::")
    blocks.append(f"*This page is made from `course/{path.name}`, an otter-grader master notebook.*")
    return "\n\n".join(blocks) + "\n"


def solution_texts(path: Path) -> list[str]:
    """Lines that appear only in solutions (for checking that a student build leaks none)."""
    items, _ = parse_master(path)
    student = "\n".join(b for i in items for b in ([i] if isinstance(i, str) else i.prompt))
    lines = {line.strip() for i in items if isinstance(i, Question) for b in i.solution
             for line in b.splitlines()}
    return sorted(line for line in lines if len(line) >= 10 and line not in student and not line.startswith("```"))
