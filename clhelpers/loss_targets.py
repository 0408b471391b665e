"""Find and build the loss that ``python -m clhelpers check`` is asked about, from code as it was written.

A target is ``FILE.py:NAME`` or ``package.module:NAME``, where NAME is a function, an instance, a class
(built with ``--init key=value ...``) or ``Class.method`` (called on the object ``--init`` builds, or on a
stand-in ``self`` made of ``--attr key=value ...``; dotted keys nest, ``args.temperature=0.5``). Values are
Python literals read with ``ast.literal_eval`` (never ``eval``); anything else is kept as a string.

A file inside a package (its folder has ``__init__.py``) is imported by its dotted name with the package
root put on ``sys.path``, so its relative imports work; ``load_target`` says which it did.
"""
from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, Callable

from .lint_errors import error_location

TEMPERATURE_NAMES = ("temperature", "tau", "T", "temp", "t")
BATCH_NAMES = ("batch_size", "bsz", "batch")


@dataclass
class LoadedLoss:
    """The loss to check: ``fn``, and ``at_temperature(t)`` when its temperature can be set (rebuilt at ``t``)."""

    fn: Callable
    description: str
    temperature: float | None = None
    batch_size: int | None = None
    at_temperature: Callable[[float], Callable] | None = None
    messages: list[str] = field(default_factory=list)


def parse_assignments(items: list[str] | None, flag: str) -> dict[str, Any]:
    """``["batch_size=8", "name=cpu"]`` -> ``{"batch_size": 8, "name": "cpu"}``; a literal or else a string."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.replace(".", "").replace("_", "").isalnum():
            raise ValueError(f"{flag} {item!r}: write KEY=VALUE, e.g. {flag} batch_size=8 temperature=0.5")
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text  # not a Python literal: a plain string such as cpu
    return out


def _package_root(path: Path) -> tuple[Path, str] | None:
    """``(folder to put on sys.path, dotted module name)`` for a file inside a package, else None."""
    parts, folder = [path.stem], path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return (folder, ".".join(parts)) if len(parts) > 1 else None


def load_module(where: str) -> tuple[ModuleType, str]:
    """Import ``FILE.py`` or ``package.module``; the module and a sentence saying how it was imported."""
    if not where.endswith(".py"):
        try:
            return importlib.import_module(where), f"imported module {where}"
        except ImportError as err:
            raise ValueError(f"cannot import module {where!r} ({err}); give FILE.py:NAME instead") from None
    path = Path(where).resolve()
    if not path.is_file():
        raise ValueError(f"no file {where}; give the path of the .py file that defines the loss")
    inside = _package_root(path)
    folder, dotted = inside or (path.parent, path.stem)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # sibling imports (and a package's relative imports) resolve
    try:
        if inside:
            module = importlib.import_module(dotted)
            return module, f"{path.name} is inside package {dotted.split('.')[0]}: imported as {dotted} with {folder} on sys.path"
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as err:
        raise ValueError(f"importing {where} failed ({type(err).__name__}: {err}); fix the file so it imports, "
                         "or install what it imports") from None
    return module, f"loaded {where}"


def _resolve(module: ModuleType, name: str, where: str) -> tuple[Any, Any]:
    """``(owner, object)`` for ``NAME`` or ``Class.method``: the owner is the class for a method, else None."""
    owner, obj = None, module
    for part in name.split("."):
        owner, obj = obj, getattr(obj, part, None)
        if obj is None:
            found = sorted(k for k, v in vars(owner).items() if callable(v) and not k.startswith("_"))
            raise ValueError(f"{where} has no {name!r}; callables there: {', '.join(found[:12]) or 'none'}")
    return (owner if inspect.isclass(owner) else None), obj


def _set_path(target: Any, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        if not hasattr(target, p):
            setattr(target, p, SimpleNamespace())
        target = getattr(target, p)
    setattr(target, last, value)


def _find(values: dict[str, Any], names: tuple[str, ...], kind: type) -> tuple[str, Any] | None:
    for key, value in values.items():
        if key.split(".")[-1] in names and isinstance(value, kind) and not isinstance(value, bool):
            return key, value
    return None


def _required(cls: type) -> list[str]:
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _default_temperature(cls: type) -> tuple[str, float] | None:
    """``(name, default)`` of a constructor parameter that is a temperature with a numeric default."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return None
    for name in TEMPERATURE_NAMES:
        default = params[name].default if name in params else None
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            return name, float(default)
    return None


def _example_value(param: str) -> str:
    """A plausible value to show in a usage message: 8 for a batch size, 0.5 for a temperature, 1 for a world size."""
    if param in BATCH_NAMES:
        return "8"
    if param in TEMPERATURE_NAMES:
        return "0.5"
    return "1" if "world" in param else "..."


def _construct(cls: type, init: dict[str, Any]) -> Any:
    missing = [p for p in _required(cls) if p not in init]
    if missing:
        example = " ".join(f"{p}={_example_value(p)}" for p in missing)
        raise ValueError(f"{cls.__name__} is a class whose constructor needs {', '.join(missing)}: pass them with "
                         f"--init {example} (these are the constructor's arguments, not the loss's)")
    try:
        return cls(**init)
    except Exception as err:
        raise ValueError(f"building {cls.__name__}(**{init}) raised {type(err).__name__}: {err} (at "
                         f"{error_location(err)}); fix the --init values, or that line") from None


def _from_class(cls: type, init: dict[str, Any], attrs: dict[str, Any]) -> LoadedLoss:
    obj = _construct(cls, init)
    for key, value in attrs.items():
        _set_path(obj, key, value)
    values = {**init, **attrs}
    temp, batch = _find(values, TEMPERATURE_NAMES, (int, float)), _find(values, BATCH_NAMES, int)
    temp = temp or _default_temperature(cls)
    settable = temp is not None and temp[0] not in attrs

    def at_temperature(t: float) -> Callable:
        return _construct(cls, {**init, temp[0]: t})

    args = ", ".join(f"{k}={v!r}" for k, v in init.items())
    return LoadedLoss(obj, f"{cls.__name__}({args})", temp and float(temp[1]), batch and batch[1],
                      at_temperature if settable else None)


def _from_method(owner: type, method: Callable, init: dict[str, Any], attrs: dict[str, Any]) -> LoadedLoss:
    self_obj = _construct(owner, init) if init else SimpleNamespace()
    for key, value in attrs.items():
        _set_path(self_obj, key, value)
    values = {**init, **attrs}
    temp, batch = _find(values, TEMPERATURE_NAMES, (int, float)), _find(values, BATCH_NAMES, int)
    stand_in = "the object --init builds" if init else "a stand-in self with the --attr values"

    def at_temperature(t: float) -> Callable:
        other = copy.copy(self_obj) if init else copy.deepcopy(self_obj)
        _set_path(other, temp[0], t)
        return method.__get__(other)

    return LoadedLoss(method.__get__(self_obj), f"{owner.__name__}.{method.__name__} on {stand_in}",
                      temp and float(temp[1]), batch and batch[1], at_temperature if temp else None)


def _from_instance(obj: Any) -> LoadedLoss:
    temp = next((k for k in TEMPERATURE_NAMES if isinstance(getattr(obj, k, None), float)), None)
    batch = getattr(obj, "batch_size", None)

    def at_temperature(t: float) -> Callable:
        other = copy.deepcopy(obj)
        setattr(other, temp, t)
        return other

    return LoadedLoss(obj, f"instance of {type(obj).__name__}", temp and getattr(obj, temp),
                      batch if isinstance(batch, int) else None, at_temperature if temp else None)


def load_target(target: str, init: dict[str, Any] | None = None, attrs: dict[str, Any] | None = None) -> LoadedLoss:
    """``FILE.py:NAME`` or ``module:NAME`` -> the ``LoadedLoss``; ``ValueError`` saying what is wrong and the fix."""
    if ":" not in target:
        raise ValueError(f"{target!r}: name the loss too, as FILE.py:NAME (e.g. my_losses.py:nt_xent or losses.py:NTXent)")
    where, name = target.rsplit(":", 1)
    module, how = load_module(where)
    owner, obj = _resolve(module, name, where)
    init, attrs = init or {}, attrs or {}
    if inspect.isclass(obj):
        loaded = _from_class(obj, init, attrs)
    elif owner is not None and inspect.isfunction(obj) and next(iter(inspect.signature(obj).parameters), "") == "self":
        loaded = _from_method(owner, obj, init, attrs)
    elif not callable(obj):
        raise ValueError(f"{where}:{name} is a {type(obj).__name__}, not a loss; name a function, class or instance")
    elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
        if init or attrs:
            raise ValueError(f"{name} is a function: --init and --attr are for classes and methods; drop them")
        loaded = LoadedLoss(obj, f"function {name}")
    else:
        loaded = _from_instance(obj)
    loaded.messages.insert(0, how)
    return loaded
