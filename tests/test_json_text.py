"""Raw JSON read and written fast (orjson) without losing what the standard library would keep."""

from __future__ import annotations

import json
import math

import pytest

from pipeline import json_text


def test_long_integers_stay_exact() -> None:
    # orjson alone would read this as a float and lose its last digits.
    assert json_text.loads('{"source_id": 123456789012345678901234567890}') == {
        "source_id": 123456789012345678901234567890
    }
    assert json.loads(json_text.dumps({"n": 123456789012345678901234567890})) == {"n": 123456789012345678901234567890}
    # Just past 64 bits either way (orjson reads up to 2**64 - 1 and down to -2**63 exactly), each on its own line.
    for number in ("-9223372036854775809", "18446744073709551616", "9999999999999999999", "-9223372036854775808"):
        line = f'{{"a": [1, {{"n": {number}}}]}}'
        assert json_text.loads(line)["a"][1]["n"] == int(number)
        assert isinstance(json_text.loads(line)["a"][1]["n"], int)


def test_what_only_the_standard_library_reads_is_still_read() -> None:
    assert math.isnan(json_text.loads('{"lat": NaN}')["lat"])
    assert json_text.loads('{"name": "a\\ud800b"}') == json.loads('{"name": "a\\ud800b"}')
    assert json_text.loads('{"name": "a\ud800b"}') == {"name": "a\ud800b"}  # the lone surrogate itself, unescaped


def test_not_json_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        json_text.loads('{"name": ')


def test_keys_sorted_on_request_and_text_unescaped() -> None:
    assert json_text.dumps({"b": 1, "a": "Café"}, sort_keys=True) == '{"a":"Café","b":1}'


def test_a_lone_surrogate_cannot_be_written() -> None:
    with pytest.raises(UnicodeError):
        json_text.dumps({"name": "a\ud800b"})
