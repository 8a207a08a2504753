"""A deterministic English text corpus from what is installed, nothing downloaded:
sentences from scikit-learn's bundled data-set descriptions, the Zen of Python
(`this`), and the docstrings of a fixed list of standard-library modules and
their public members (Python 3.11). Used to measure the tolerance policy and
to benchmark; the same call returns the same list on the same versions."""

from __future__ import annotations

import codecs
import contextlib
import importlib
import inspect
import io
import re
from pathlib import Path

STDLIB = (
    "json", "os", "re", "collections", "itertools", "functools", "pathlib", "typing", "argparse", "logging",
    "email.message", "http.client", "urllib.parse", "asyncio", "decimal", "fractions", "statistics", "random",
    "string", "textwrap", "unittest", "zipfile", "tarfile", "csv", "sqlite3", "datetime", "calendar", "heapq",
    "bisect", "inspect", "subprocess", "threading", "queue", "socket", "ssl", "hashlib", "hmac", "secrets",
    "base64", "struct", "copy", "pickle", "shutil", "tempfile", "glob", "fnmatch", "io", "contextlib", "abc",
    "dataclasses", "enum", "operator", "math", "cmath", "array", "weakref", "gc", "traceback", "warnings",
    "difflib", "pprint", "locale", "gettext", "codecs", "unicodedata", "xml.dom.minidom", "html.parser",
    "configparser", "tomllib", "timeit", "trace", "pdb", "doctest", "ipaddress", "uuid", "zlib", "gzip",
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
MIN_CHARS, MAX_CHARS = 30, 500


def _sentences(text: str) -> list[str]:
    flat = " ".join(line.strip() for line in text.splitlines())
    flat = re.sub(r"[`*|=]+", " ", flat)
    flat = re.sub(r"\s+", " ", flat).strip()
    return [s.strip() for s in _SENTENCE.split(flat)]


def _sources() -> list[str]:
    import sklearn.datasets

    texts = []
    descr = Path(sklearn.datasets.__file__).parent / "descr"
    texts += [path.read_text() for path in sorted(descr.glob("*.rst"))]
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        import this  # its source is the Zen in rot13

    texts.append(codecs.decode(this.s, "rot13"))
    for name in STDLIB:
        module = importlib.import_module(name)
        texts.append(inspect.getdoc(module) or "")
        for member_name in sorted(vars(module)):
            if member_name.startswith("_"):
                continue
            member = getattr(module, member_name)
            if (inspect.isfunction(member) or inspect.isclass(member)) and \
                    getattr(member, "__module__", "") == module.__name__:
                texts.append(inspect.getdoc(member) or "")
    return texts


def texts(count: int = 1200) -> list[str]:
    """The first `count` distinct sentences of the corpus, each 30-500 characters."""
    seen, out = set(), []
    for text in _sources():
        for sentence in _sentences(text):
            if MIN_CHARS <= len(sentence) <= MAX_CHARS and sentence not in seen:
                seen.add(sentence)
                out.append(sentence)
                if len(out) == count:
                    return out
    raise ValueError(f"the corpus holds only {len(out)} sentences, {count} asked for")
