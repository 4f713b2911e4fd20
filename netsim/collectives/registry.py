"""Look-up of collective algorithms by the names scenarios use.

Every module of :mod:`netsim.collectives` may define ``REGISTER``, a sequence of
:class:`~netsim.collectives.algorithm.Algorithm`; the registry imports the package's
modules once, in sorted order, and collects them. Adding an algorithm is adding a file.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from functools import cache

from netsim.collectives.algorithm import Algorithm
from netsim.exceptions import ScenarioError

__all__ = ["algorithms", "get_algorithm", "algorithm_names"]


@cache
def _registry() -> tuple[dict[str, Algorithm], dict[str, str]]:
    import netsim.collectives as package

    table: dict[str, Algorithm] = {}
    aliases: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for algorithm in getattr(module, "REGISTER", ()):
            for name in (algorithm.name, *algorithm.aliases):
                if name in table or name in aliases:
                    raise RuntimeError(f"collective algorithm name {name!r} is registered twice")
            table[algorithm.name] = algorithm
            aliases.update({alias: algorithm.name for alias in algorithm.aliases})
    return table, aliases


def algorithms(operation: str | None = None) -> dict[str, Algorithm]:
    """Registered algorithms by canonical name (only those of ``operation`` if given)."""
    table = _registry()[0]
    return {name: a for name, a in sorted(table.items()) if operation is None or a.operation == operation}


def algorithm_names(operation: str | None = None) -> list[str]:
    """Canonical names and aliases (of ``operation`` if given), sorted."""
    table, aliases = _registry()
    names = [n for n, a in table.items() if operation is None or a.operation == operation]
    names += [alias for alias, n in aliases.items() if operation is None or table[n].operation == operation]
    return sorted(names)


def get_algorithm(name: str, operation: str | None = None, field: str = "communication.algorithm") -> Algorithm:
    """Return the algorithm called ``name`` (canonical or alias).

    Parameters
    ----------
    name : str
        Canonical name or alias.
    operation : str, optional
        Require this operation (e.g. ``"allreduce"`` for a training job's gradients).
    field : str
        Field named in error messages.

    Raises
    ------
    ScenarioError
        If no algorithm of that operation has that name; the message lists the accepted names.
    """
    table, aliases = _registry()
    algorithm = table.get(aliases.get(name, name))
    if algorithm is None or (operation is not None and algorithm.operation != operation):
        accepted = algorithm_names(operation)
        close = difflib.get_close_matches(str(name), accepted, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScenarioError(
            f"{field}: unknown {operation or 'collective'} algorithm {name!r}{hint}; accepted: {', '.join(accepted)}"
        )
    return algorithm
