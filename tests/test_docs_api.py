"""Every public function and class has a docstring with an example; parameters are documented.

"Public" means listed in ``__all__`` of ``bayesgrid_plugins``, ``pandapower_ext`` or
``opendss_ext`` and defined in one of bayesgrid's packages (re-exported third-party objects,
such as pluggy's ``hookimpl`` marker, are documented by their own project). The API reference
of the documentation site is generated from these docstrings. Every public callable carries a
NumPy-style ``Examples`` section (for a class, in the class docstring); functions that take
parameters also carry a ``Parameters`` section naming each of them.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

PACKAGES = ("bayesgrid_plugins", "pandapower_ext", "opendss_ext", "pgm_ext")
OWN = tuple(f"{p}." for p in PACKAGES) + PACKAGES
SECTION = re.compile(r"^Parameters\n-{10,}$", re.MULTILINE)
EXAMPLES = re.compile(r"^Examples\n-{8,}\n(?:\s*\n)*>>> ", re.MULTILINE)


def public_objects() -> list[tuple[str, object]]:
    """``(qualified name, object)`` of every public callable of the three packages."""
    found = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or not getattr(obj, "__module__", "").startswith(OWN):
                continue
            found.append((f"{package}.{name}", obj))
    return found


def documented_parameters(obj: object) -> list[str]:
    """Parameters of a function's signature that need documenting (not self, *args, **kw)."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls")
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def problems(objects: list[tuple[str, object]]) -> list[str]:
    """What is missing, one line per object."""
    out = []
    for name, obj in objects:
        own = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
        doc = inspect.cleandoc(own or "")
        if not doc.strip():
            out.append(f"{name}: no docstring")
            continue
        if not EXAMPLES.search(doc):
            out.append(f"{name}: no 'Examples' section with a '>>>' example")
            continue
        if inspect.isclass(obj):
            continue  # a class documents itself; its __init__ parameters may live on the class
        params = documented_parameters(obj)
        if params and not SECTION.search(doc):
            out.append(f"{name}: no 'Parameters' section (takes {', '.join(params)})")
            continue
        undocumented = [p for p in params if not re.search(rf"\b{re.escape(p)}\b", doc)]
        if undocumented:
            out.append(f"{name}: parameters not described: {', '.join(undocumented)}")
    return out


def test_the_public_api_is_large_enough_to_mean_something() -> None:
    objects = public_objects()
    assert len(objects) > 60
    names = {name for name, _ in objects}
    assert "bayesgrid_plugins.hookimpl" not in names  # pluggy's marker, not ours
    assert {"bayesgrid_plugins.Feeder", "pandapower_ext.unbalance_net"} <= names


def test_every_public_callable_has_a_docstring_with_its_parameters_and_an_example() -> None:
    missing = problems(public_objects())
    assert not missing, "document these public callables:\n" + "\n".join(missing)


EX = "\n    Examples\n    --------\n    >>> f(1)\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('def f(x):\n    """Nothing about it."""\n', "no 'Examples' section"),
        (f'def f(x):\n    """Nothing about it.\n{EX}    """\n', "no 'Parameters' section"),
        ("def f(x):\n    pass\n", "no docstring"),
        (
            'def f(x, y):\n    """Do.\n\n    Parameters\n    ----------\n    x : int\n'
            f'{EX}    """\n',
            "not described: y",
        ),
        (
            'def f(x):\n    """Do.\n\n    Parameters\n    ----------\n    x : int\n    """\n',
            "no 'Examples' section",
        ),
        (
            'def f():\n    """Do.\n\n    Examples\n    --------\n    Call it with no arguments.\n'
            '    """\n',
            "no 'Examples' section",
        ),
        ("class C:\n    pass\n", "no docstring"),
        ('class C:\n    """A thing, without an example."""\n', "no 'Examples' section"),
    ],
)
def test_the_check_catches_what_is_missing(source: str, expected: str) -> None:
    namespace: dict[str, object] = {"__name__": "bayesgrid_plugins.fake"}
    exec(source, namespace)
    obj = namespace.get("f", namespace.get("C"))
    found = problems([("fake", obj)])
    assert len(found) == 1 and expected in found[0], found


def test_a_complete_docstring_passes() -> None:
    def f(x: float, *, n: int = 1) -> float:
        """Scale.

        Parameters
        ----------
        x : float
            Value [kW].
        n : int
            Factor.

        Examples
        --------
        >>> f(2.0, n=3)
        6.0
        """
        return x * n

    class C:
        """A documented class.

        Examples
        --------
        >>> C()  # doctest: +SKIP
        """

    assert problems([("f", f), ("C", C)]) == []
