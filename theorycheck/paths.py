"""Checks of the paths and addresses a command will write to or connect to, made before any work starts.

Each check raises :class:`~theorycheck.regime.RegimeError` (exit status 2, one line) naming the flag, the
value, what is wrong and what is allowed; nothing is created by a check.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .regime import RegimeError

_HOST_PORT = re.compile(r"^(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)"
                        r":(?P<port>[0-9]{1,5})/?$")
SCHEDULER_SCHEMES = ("tcp", "tls")


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_dir(value: str, flag: str) -> Path:
    """A directory the command creates (with its parents) or writes into.

    It must be a directory if it exists; otherwise its nearest existing ancestor must be a writable
    directory (so that it can be created).
    """
    path = Path(value)
    if path.exists():
        if not path.is_dir():
            raise RegimeError(f"{flag} {value!r} is a file; allowed: a directory (existing or to be created)")
        if not os.access(path, os.W_OK | os.X_OK):
            raise RegimeError(f"{flag} {value!r} is not writable; allowed: a writable directory")
        return path
    base = _nearest_existing(path)
    if not base.is_dir():
        raise RegimeError(f"{flag} {value!r} cannot be created: {str(base)!r} is a file; allowed: a directory "
                          f"whose parents are directories")
    if not os.access(base, os.W_OK | os.X_OK):
        raise RegimeError(f"{flag} {value!r} cannot be created: {str(base)!r} is not writable")
    return path


def check_output_file(value: str, flag: str, create_parent: bool = False, suffixes=None) -> Path:
    """A file the command writes (``-`` is standard output and always allowed where the flag allows it).

    Its directory must exist (or, with ``create_parent``, be creatable) and be writable; the path must not be
    a directory; with ``suffixes``, its suffix must be one of them.
    """
    path = Path(value)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise RegimeError(f"{flag} {value!r}: allowed file types are {', '.join(suffixes)}")
    if path.is_dir():
        raise RegimeError(f"{flag} {value!r} is a directory; allowed: a file path")
    parent = path.absolute().parent
    if create_parent:
        base = _nearest_existing(parent)
        if not base.is_dir():
            raise RegimeError(f"{flag} {value!r} cannot be created: {str(base)!r} is a file; allowed: a file "
                              f"whose parents are directories")
        if not os.access(base, os.W_OK | os.X_OK):
            raise RegimeError(f"{flag} {value!r} cannot be created: {str(base)!r} is not writable")
    elif not parent.is_dir():
        raise RegimeError(f"{flag} {value!r}: directory {str(path.parent)!r} does not exist; allowed: a file in "
                          f"an existing directory")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise RegimeError(f"{flag} {value!r}: directory {str(path.parent)!r} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise RegimeError(f"{flag} {value!r} is not writable")
    return path


def check_json_target(value: str | None, flag: str = "--json") -> None:
    """``--json PATH|-``: standard output, or a file in an existing, writable directory."""
    if value is not None and value != "-":
        check_output_file(value, flag)


def check_input_dir(value: str, what: str) -> Path:
    """A directory the command reads: it must exist and be a directory."""
    path = Path(value)
    if not path.exists():
        raise RegimeError(f"{what} {value!r} does not exist; allowed: an existing directory")
    if not path.is_dir():
        raise RegimeError(f"{what} {value!r} is not a directory; allowed: an existing directory")
    return path


def check_scheduler(value: str | None) -> None:
    """``--scheduler``: ``local``, ``HOST:PORT`` or ``tcp://HOST:PORT`` (``tls://`` too), port 1-65535."""
    if value is None or value == "local":
        return
    m = _HOST_PORT.match(value)
    allowed = "'local', HOST:PORT or tcp://HOST:PORT"
    if m is None:
        raise RegimeError(f"--scheduler {value!r} is not a scheduler address; allowed: {allowed}")
    if m.group("scheme") is not None and m.group("scheme") not in SCHEDULER_SCHEMES:
        raise RegimeError(f"--scheduler {value!r}: unknown protocol {m.group('scheme')!r}; allowed: {allowed} "
                          f"(or tls://HOST:PORT)")
    if not 1 <= int(m.group("port")) <= 65535:
        raise RegimeError(f"--scheduler {value!r}: port {m.group('port')} is out of range; allowed: 1-65535")


def read_rows(path: str, what: str = "ROWS") -> list:
    """The verify rows of a JSON file, or a one-line error naming what is wrong."""
    file = Path(path)
    if not file.is_file():
        raise RegimeError(f"{what} {path!r} is not a file; allowed: a JSON file written by verify --json PATH")
    try:
        rows = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegimeError(f"{what} {path!r} is not JSON ({exc}); allowed: a JSON file written by verify --json PATH")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "claim" in r and "verdict" in r for r in rows):
        raise RegimeError(f"{what} {path!r} is not a list of verify rows; allowed: a JSON file written by verify "
                          "--json PATH")
    return rows
