"""started(): a streamed body's first item is produced in the view, and closing the
response closes what it streams."""

from collections.abc import Iterator

from vaxbook.core.streaming import started


def test_the_first_item_is_produced_at_once_and_every_item_comes_in_order() -> None:
    produced: list[int] = []

    def rows() -> Iterator[int]:
        for row in (1, 2, 3):
            produced.append(row)
            yield row

    stream = started(rows())

    assert produced == [1]
    assert list(stream) == [1, 2, 3]
    assert list(started(iter(()))) == []


def test_closing_the_stream_closes_what_it_streams() -> None:
    closed: list[bool] = []

    def rows() -> Iterator[int]:
        try:
            yield from (1, 2, 3)
        finally:
            closed.append(True)  # where a cursor would be closed

    stream = started(rows())
    assert next(stream) == 1
    stream.close()  # the client went away

    assert closed == [True]
