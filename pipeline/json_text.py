"""JSON text of raw records, read and written fast (orjson) where that is exact, by the standard library where not.

Every raw record is decoded and hashed on every run, unchanged or not, and stored when it changed: on a re-run that
finds little changed this is most of the work, and orjson does it several times faster than the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# orjson reads integers beyond 64 bits as floats (a 20-digit id would lose its last digits); the standard library
# keeps them exact, so a line with a run of 19 digits is read by it. The run is found by mapping every digit to 0
# and looking for nineteen zeros: four times faster than a regular expression, which costs more than the parse.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def loads(text: str) -> Any:
    """A JSON document; raises ValueError (json.JSONDecodeError) when it is not one."""
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate makes it invalid UTF-8, which orjson refuses
    if _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, a lone surrogate (escaped or not): the standard library reads them
    return json.loads(text)


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """JSON text, UTF-8 characters unescaped; values JSON has no type for are written as their str() (dates and times
    in ISO 8601, `2024-01-02T03:04:05`). NaN and infinities, which JSON cannot write, are written as null; only in a
    value orjson cannot write at all (an integer beyond 64 bits) does the standard library write them, as `NaN`.

    Raises ValueError or UnicodeError as json.dumps(...).encode() would, for what cannot be stored (an integer
    of thousands of digits, a lone surrogate).
    """
    return dumps_utf8(value, sort_keys=sort_keys).decode()


def dumps_utf8(value: Any, *, sort_keys: bool = False) -> bytes:
    """`dumps(value)` as UTF-8 bytes, without decoding orjson's bytes only to encode them again (for hashing)."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=str, option=option)
    except TypeError:
        # Integers beyond 64 bits, surrogates, keys orjson cannot sort: the standard library's reading of them.
        # Encoding fails on a lone surrogate, as it would on the way into the warehouse.
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=sort_keys).encode()
