"""One error family: every exception class derives from BackstoryError; the CLI maps it once.

(The web app's mapping is tested in ``tests/web/test_web_errors.py``.)
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import click
import pytest
from click.testing import CliRunner

import backstory
from backstory.cli.main import BackstoryGroup, error_line, exit_code
from backstory.errors import (
    AccessError,
    BackstoryError,
    ConfigError,
    InputError,
    IntegrityError,
    KnowledgeError,
    split_location,
)
from backstory.storage.errors import DatabaseUnavailable, NotFound


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(backstory.__path__, "backstory."):
        if ".migrations" in info.name:
            continue  # Alembic scripts run migration code on import
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("backstory"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def test_every_exception_class_is_a_backstory_error() -> None:
    classes = _exception_classes()
    assert len(classes) >= 25
    outside = [c.__qualname__ for c in classes if not issubclass(c, BackstoryError)]
    assert outside == []


def test_the_old_bases_are_kept() -> None:
    """Code that caught ValueError or RuntimeError before still catches the same errors."""
    from backstory.batch.run import AccountingError, BatchError
    from backstory.batch.validate import ValidatorMismatch
    from backstory.contract import AssessmentError

    assert issubclass(AssessmentError, ValueError) and issubclass(AssessmentError, InputError)
    assert issubclass(BatchError, ValueError)
    assert issubclass(AccountingError, RuntimeError) and issubclass(AccountingError, IntegrityError)
    assert issubclass(ValidatorMismatch, AssertionError)
    assert issubclass(KnowledgeError, ValueError)


def test_a_knowledge_error_knows_its_place() -> None:
    exc = KnowledgeError("a emergency rule needs do_now", file="explanations.yaml", path="x/y")
    assert str(exc) == "explanations.yaml/x/y: a emergency rule needs do_now"
    old = KnowledgeError("patterns.yaml/facet/x: unknown field 'a.b'")
    assert (old.file, old.path, old.message) == ("patterns.yaml", "facet/x", "unknown field 'a.b'")
    assert str(old) == "patterns.yaml/facet/x: unknown field 'a.b'"
    assert split_location("facts.yaml[3]: needs an id") == ("facts.yaml", "[3]", "needs an id")
    assert split_location("no place here") == ("", "", "no place here")


def _group(exc: BaseException) -> click.Group:
    @click.group(cls=BackstoryGroup)
    def group() -> None:
        pass

    @group.command("go")
    def go() -> None:
        raise exc

    return group


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (
            InputError("that file has no rows\nand no header"),
            2,
            "that file has no rows; and no header",
        ),
        (ConfigError("BACKSTORY_SECRET_KEY is too short"), 2, "BACKSTORY_SECRET_KEY is too short"),
        (AccessError("not allowed"), 2, "not allowed"),
        (IntegrityError("rows in 3, rows out 2"), 2, "rows in 3, rows out 2"),
        (
            KnowledgeError("pattern does not compile", file="imaging.yaml", path="findings"),
            2,
            "the knowledge is broken, nothing was done: imaging.yaml/findings: pattern does not "
            "compile",
        ),
        (NotFound("no patient p-1"), 2, "no patient p-1"),
        (
            DatabaseUnavailable("the database cannot be reached"),
            1,
            "the database cannot be reached",
        ),
    ],
)
def test_the_command_line_maps_every_kind_to_one_line(
    exc: BackstoryError, code: int, line: str
) -> None:
    result = CliRunner().invoke(_group(exc), ["go"])
    assert result.exit_code == code == exit_code(exc)
    assert result.output == f"backstory: {line}\n"
    assert error_line(exc) == line
    assert isinstance(result.exception, SystemExit)


def test_a_bug_is_not_dressed_up_as_a_plain_error() -> None:
    """Only the family is mapped: anything else is a bug and must stay visible."""
    result = CliRunner().invoke(_group(ZeroDivisionError("bug")), ["go"])
    assert isinstance(result.exception, ZeroDivisionError)
