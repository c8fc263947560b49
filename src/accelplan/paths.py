"""Files the user names on the command line or in a request, checked before any work starts.

One policy for every command: an output file's folder must already exist (nothing is created behind the user's
back), an output file may not be a directory, and an input file must be a readable regular file of bounded size.
Each refusal is an `AccelplanError` naming the flag and the path, which the CLI prints as one line (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from accelplan.errors import AccelplanError

MAX_INPUT_BYTES = 16 * 1024 * 1024  # YAML, JSON and config files; larger ones are refused unread


def output_file(path: str | Path, flag: str) -> Path:
    """PATH as an output file for FLAG: not a directory, in a folder that exists. Call it before the work."""
    p = Path(path).expanduser()
    if str(path).strip() == "":
        raise AccelplanError(f"{flag}: an empty path is not a file name")
    if p.is_dir():
        raise AccelplanError(f"{flag} {str(path)!r} is a directory; give a file name inside it")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise AccelplanError(f"{flag} {str(path)!r}: folder {str(parent)!r} does not exist (create it first)")
    return p


def output_dir(path: str | Path, flag: str) -> Path:
    """PATH as an output folder for FLAG: an existing folder, or a new one whose parent exists."""
    p = Path(path).expanduser()
    if str(path).strip() == "":
        raise AccelplanError(f"{flag}: an empty path is not a folder name")
    if p.exists() and not p.is_dir():
        raise AccelplanError(f"{flag} {str(path)!r} is a file, not a folder")
    if not p.exists() and not p.resolve().parent.is_dir():
        raise AccelplanError(f"{flag} {str(path)!r}: folder {str(p.resolve().parent)!r} does not exist "
                             "(create it first)")
    return p


def input_file(path: str | Path, flag: str, max_bytes: int = MAX_INPUT_BYTES) -> Path:
    """PATH as an input file for FLAG: exists, is a regular file, and is at most MAX_BYTES long."""
    p = Path(path).expanduser()
    if str(path).strip() == "":
        raise AccelplanError(f"{flag}: an empty path is not a file name")
    if not p.exists():
        raise AccelplanError(f"{flag} {str(path)!r}: no such file")
    if p.is_dir():
        raise AccelplanError(f"{flag} {str(path)!r} is a directory, not a file")
    if not p.is_file():
        raise AccelplanError(f"{flag} {str(path)!r} is not a regular file")
    size = p.stat().st_size
    if size > max_bytes:
        raise AccelplanError(f"{flag} {str(path)!r} is {size / 2**20:.1f} MiB; at most {max_bytes / 2**20:.0f} MiB "
                             "is read")
    return p


def read_text(path: str | Path, flag: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of an input file, or one line saying why it cannot be read (binary, unreadable)."""
    p = input_file(path, flag, max_bytes)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AccelplanError(f"{flag} {str(path)!r} is not UTF-8 text (a binary file?)") from None
    except OSError as exc:
        raise AccelplanError(f"{flag} {str(path)!r}: cannot be read ({exc.strerror or exc})") from None
