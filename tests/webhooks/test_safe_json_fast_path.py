"""The inbox parses every event with `safe_json.loads_storable`: it must answer exactly what
`storable(loads(...))` answers, and refuse exactly what `loads` refuses, whatever the text
(its fast paths only skip walks the raw text shows to be needless; issue 22)."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services import safe_json

# Text of every kind, lone surrogates and NUL included (what a customer can type into a name).
_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
                max_size=12)
_values = st.recursive(st.none() | st.booleans() | st.integers() | _text,
                       lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
                       max_leaves=30)


def _encodings(value) -> list[bytes]:
    text = json.dumps(value, ensure_ascii=False)
    return [json.dumps(value).encode(),  # escapes: \u0000, \ud800
            text.encode("utf-8", "surrogatepass"),  # raw UTF-8, surrogates as ED A0-BF bytes
            text.encode("utf-16", "surrogatepass")]  # json.loads reads UTF-16 too


@settings(max_examples=300, deadline=None)
@given(_values)
def test_loads_storable_is_storable_of_loads(value):
    for body in _encodings(value):
        assert safe_json.loads_storable(body) == safe_json.storable(safe_json.loads(body))


@pytest.mark.parametrize("body", [b'{"a": "\\\\u0000"}', b'{"\\u0000": 1}', b'["\\uDBFF"]', '["\udc00"]'.encode("utf-8", "surrogatepass")])
def test_escapes_and_encoded_surrogates_are_rewritten_or_kept(body):
    assert safe_json.loads_storable(body) == safe_json.storable(json.loads(body))
    assert not safe_json.unstorable_text(safe_json.loads_storable(body))


@pytest.mark.parametrize("depth, refused", [(64, False), (65, True), (3000, True)])
def test_depth_limit_holds_with_and_without_many_brackets(depth, refused):
    def nested(levels: int) -> bytes:
        return b"[" * levels + b"]" * levels

    # Many brackets, shallow: 200 sibling lists, and brackets inside strings, are no depth.
    wide = b"[" + b",".join([b'"[{"', b"[]"] * 100) + b"]"
    for body in (nested(depth), b'{"a": ' + nested(depth - 1) + b', "b": ' + wide + b"}"):
        if refused:
            with pytest.raises(safe_json.UnsafeJSON):
                safe_json.loads_storable(body)
        else:
            assert safe_json.loads_storable(body) == json.loads(body)
