"""The writer's messages: frames round-trip, and only known classes are rebuilt."""

from __future__ import annotations

import io
import logging
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayesgrid_plugins.app.writer_messages import (
    encode_frame,
    error_fields,
    read_frame,
    rebuild_error,
    record_fields,
    replay,
)
from bayesgrid_plugins.errors import ExporterFailedError, LargeLoadWarning, ParameterError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    header=st.dictionaries(st.text(), JSON, max_size=4), payloads=st.lists(st.binary(), max_size=3)
)
def test_frames_round_trip(header, payloads):
    header.pop("payloads", None)
    stream = io.BytesIO(encode_frame(header, payloads) * 2)
    for _ in range(2):
        got, data = read_frame(stream)
        assert {k: v for k, v in got.items() if k != "payloads"} == header
        assert data == payloads
    with pytest.raises(EOFError):
        read_frame(stream)


def test_a_cut_frame_is_an_end_of_pipe():
    data = encode_frame({"a": 1}, [b"12345"])
    with pytest.raises(EOFError):
        read_frame(io.BytesIO(data[:-2]))


def test_our_errors_come_back_with_their_type_and_others_as_exporter_failures():
    exc = rebuild_error(error_fields(ParameterError("realisations out of range")))
    assert type(exc) is ParameterError and str(exc) == "realisations out of range"
    assert "raised in the writer process" in exc.__notes__[0]

    class Strange(Exception):
        pass

    exc = rebuild_error(error_fields(Strange("odd")))
    assert isinstance(exc, ExporterFailedError)
    assert "Strange: odd" in str(exc)
    fields = error_fields(ValueError("v"))
    fields["class"] = ["os", "system"]  # never looked up outside builtins and our errors
    assert isinstance(rebuild_error(fields), ExporterFailedError)


def test_records_and_warnings_are_replayed(caplog):
    record = logging.LogRecord(
        "bayesgrid_plugins.x", logging.WARNING, "f.py", 3, "%d kW", (5,), None
    )
    header = {
        "records": [record_fields(record)],
        "warnings": [
            {
                "class": ["bayesgrid_plugins.errors", "LargeLoadWarning"],
                "message": "big",
                "filename": "f.py",
                "lineno": 1,
            },
            {
                "class": ["pandapower.auxiliary", "SomeWarning"],
                "message": "odd",
                "filename": "g.py",
                "lineno": 2,
            },
        ],
    }
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replay(header)
    assert [r.getMessage() for r in caplog.records] == ["5 kW"]
    assert [w.category for w in caught] == [LargeLoadWarning, UserWarning]
    assert str(caught[1].message) == "pandapower.auxiliary.SomeWarning: odd"
