"""What every ``deepfake-lens`` subcommand shares on its command line: a parser whose usage errors are one line,
argument types that refuse nonsense before anything runs, output targets checked before any analysis, and
messages kept on one line whatever a file name holds.

    p = Parser(prog="deepfake-lens compare")
    p.add_argument("--frames", type=frame_count, default=32)
    problem = check_outputs([("--json", args.json)], inputs=[args.path])
    if problem:
        return fail(problem)
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import stat
import sys
from collections.abc import Iterable, Sequence

from detector.constants import MEDIA_EXTENSIONS

__all__ = [
    "Parser",
    "number",
    "positive",
    "frame_rate",
    "frame_count",
    "face_count",
    "workers",
    "model_name",
    "probability",
    "printable",
    "fail",
    "check_outputs",
    "unwritable",
    "release_held_pipes",
    "same_file",
    "write_failed",
    "STDOUT",
]

STDOUT = "-"  # an output target that means standard output (--json -, --csv -)
MIN_FPS = 0.001  # --fps: one frame in 1,000 s at the least (a smaller rate would sample nothing)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: ...``) and exit code 2, like every other refusal."""

    def error(self, message: str):
        message = " ".join(str(message).split())
        dashed = [a for a in sys.argv[1:] if a.startswith("-") and len(a) > 1 and os.path.exists(a)]
        if dashed and ("required" in message or "unrecognized" in message):  # a file named -x.jpg is read as an option
            message += f"; a file whose name starts with '-' goes after '--' (... -- {dashed[0]})"
        self.exit(2, f"error: {printable(message)} (see {self.prog} --help)\n")


def number(text: str) -> float:
    """A finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def positive(text: str) -> float:
    """A finite number above 0."""
    value = number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text!r}")
    return value


def frame_rate(text: str) -> float:
    """Frames per second to sample: at least ``MIN_FPS`` (the frame cap bounds it from above)."""
    value = number(text)
    if value < MIN_FPS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_FPS} frames per second, not {text!r}")
    return value


def frame_count(text: str) -> int:
    """A whole number of frames, at least 1 and at most the decoder's limit (checked before anything runs)."""
    from detector.inference.video import Limits

    value = number(text)  # "5e7" is a number too: refused below by the limit, not as a typo
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a whole number of frames, at least 1, not {text!r}")
    if value > Limits.max_frames:
        raise argparse.ArgumentTypeError(f"at most {Limits.max_frames} frames may be sampled, not {text!r}")
    return int(value)


def face_count(text: str) -> int:
    """A whole number of faces, 0 or more (0: every face)."""
    value = number(text)
    if value < 0 or value != int(value) or value > 10**9:
        raise argparse.ArgumentTypeError(f"must be a whole number of faces, 0 or more, not {text!r}")
    return int(value)


def whole(text: str) -> int:
    """A whole number, 0 or more (a count or a limit, where 0 means none or all as the flag says)."""
    value = number(text)
    if value < 0 or value != int(value) or value > 10**12:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text!r}")
    return int(value)


def workers(text: str) -> int:
    """1 to 64 processes."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"{n}: give 1 to 64 workers")
    return n


def model_name(text: str) -> str:
    """A model name or card path that is not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty: give a model name (deepfake-lens models lists them) or a card path")
    return text


def probability(text: str) -> float:
    """A number from 0 to 1."""
    value = number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text!r}")
    return value


_BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` as one line: control characters and line breaks (a newline in a file name) written as escapes."""
    return _BREAKS.sub(lambda m: repr(m.group())[1:-1], text)


def fail(msg: str, code: int = 2) -> int:
    """Print ``error: msg`` on one line to stderr; return ``code`` (the exit code)."""
    print(f"error: {printable(msg)}", file=sys.stderr)
    return code


def check_outputs(targets: Sequence[tuple[str, str | None]], inputs: Iterable[str] = ()) -> str | None:
    """Why one of the output ``targets`` ((flag, path or None) pairs) cannot be written, or None: checked before
    any analysis, so that no result is lost at the end and no input is overwritten.  ``-`` (standard output) is
    fine for one flag.  Refused: two flags naming one file, a target that is one of ``inputs`` or named like a video or
    a photo (``--json clip.mp4`` with the OUT forgotten would write over the clip), an empty name (``--json ''``
    wrote nothing and said nothing), a folder, a missing folder that cannot be made (one that can is made, for every
    command: ``--json runs/x/out.json`` in a fresh checkout, and a line on standard error names it, so that a typo in
    the path is seen), a file that cannot be opened for writing, and two flags both writing to standard output."""
    for flag, t in targets:
        if t is not None and not t.strip():
            return f"{flag}: empty: give a file name (or - for standard output)"
    to_stdout = [flag for flag, t in targets if t == STDOUT]
    if len(to_stdout) > 1:
        return f"{' - and '.join(to_stdout)} - would mix on standard output: give one of them a file"
    targets = [(flag, t) for flag, t in targets if t and t != STDOUT]
    if len({os.path.abspath(t) for _, t in targets}) < len(targets):
        return f"{', '.join(flag for flag, _ in targets)} must name different files"
    given = {os.path.abspath(p) for p in inputs}
    for flag, target in targets:
        if os.path.abspath(target) in given or any(same_file(target, p) for p in given):
            return f"{flag} {target}: is one of the inputs; give another file name for the results"
        if target.lower().endswith(MEDIA_EXTENSIONS):
            return f"{flag} {target}: is named like a video or a photo; give a results file (e.g. results.json)"
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(target) and not os.path.isdir(folder):
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as e:
                return f"{flag} {target}: its folder cannot be made ({e.strerror or e})"
            print(f"note: {flag}: made the folder {printable(folder)}", file=sys.stderr)
        problem = unwritable(target)
        if problem:
            return f"{flag} {target}: {problem}"
    return None


def same_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name one file: the same path, or one file under two names (a link)."""
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_failed(option: str, path: str, error: OSError) -> str:
    """The one line said when writing the results named by ``option`` (``--json``, ``--report``...) failed: the
    option, the path and the system's reason, the same in every command."""
    return f"{option} {path}: cannot be written ({error.strerror or error})"


_HELD_PIPES: list[int] = []  # named pipes found read by unwritable(), held open as writers until the command ends


def release_held_pipes() -> None:
    """Close the named pipes :func:`unwritable` held open (the command's outputs are written by then): their readers
    see the end once the command's own writers close too."""
    while _HELD_PIPES:
        try:
            os.close(_HELD_PIPES.pop())
        except OSError:
            pass


def unwritable(path: str) -> str | None:
    """Why ``path`` cannot be written as a results file, or None (an existing file is left as it is)."""
    if os.path.isdir(path):
        return "is a folder; give a file name"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"no such folder ({folder})"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        return f"cannot be written ({e.strerror or e})"
    if mode is not None and stat.S_ISFIFO(mode):  # a named pipe: opening it to write waits for its reader, so ask
        try:  # without waiting whether one is there (an audit: --json to a FIFO nothing read hung after the analysis)
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:
                return "is a named pipe that nothing reads: start its reader first"
            return f"cannot be written ({e.strerror or e})"
        _HELD_PIPES.append(fd)  # kept open to the end: closed now, it would tell the reader the results had ended
        return None
    try:
        with open(path, "a"):  # "a": an existing file is left as it is until the results are written
            pass
    except OSError as e:
        return f"cannot be written ({e.strerror or e})"
    if mode is None:
        try:
            os.remove(path)  # created only to try: no empty file is left if the run stops before writing
        except OSError:
            pass
    return None
