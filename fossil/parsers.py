"""The JSON parser of every API: strict about what it lets through.

On top of DRF's JSONParser it refuses, with a 400 that names the place: a key given twice
in one object (json.loads would silently keep the last one), NaN/Infinity, a body that
is not UTF-8, strings with unpaired surrogate escapes, and nesting deeper than MAX_DEPTH
(no request of ours nests beyond 4; very deep bodies would otherwise hit Python's
recursion limit).
"""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


class _ObjectWithDuplicate(dict):
    """A parsed object that had a key more than once; the key is kept to name it."""

    duplicate: str = ""


def _object_from_pairs(pairs: list[tuple[str, object]]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj and not isinstance(obj, _ObjectWithDuplicate):
            obj = _ObjectWithDuplicate(obj)
            obj.duplicate = key
        obj[key] = value
    return obj


def _refuse_constant(name: str):
    raise ParseError(f"JSON body contains {name}, which is not a JSON number")


def _is_encodable(text: str) -> bool:
    """False for a string holding a lone surrogate ("\\ud800" is valid JSON but no Unicode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_tree(document: object) -> None:
    """Walks the parsed body (iteratively), refusing duplicates, excessive depth and strings
    that are not Unicode (they could not even be echoed in an error message)."""
    stack: list[tuple[object, str, int]] = [(document, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, str) and not _is_encodable(node):
            raise ParseError(f"{path or 'body'}: string with an unpaired surrogate escape")
        if isinstance(node, dict):
            for key in node:
                if not _is_encodable(key):
                    raise ParseError(f"{path or 'body'}: key with an unpaired surrogate escape")
        if isinstance(node, _ObjectWithDuplicate):
            where = f"{path}.{node.duplicate}" if path else node.duplicate
            raise ParseError(f"{where}: duplicate key in the JSON body")
        if isinstance(node, dict):
            stack.extend((value, f"{path}.{key}" if path else str(key), depth + 1) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{index}]", depth + 1) for index, value in enumerate(node))


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("JSON body is not valid UTF-8") from None
        try:
            document = json.loads(text, object_pairs_hook=_object_from_pairs, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"JSON body is nested deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _check_tree(document)
        return document
