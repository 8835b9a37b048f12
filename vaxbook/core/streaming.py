"""Streamed answers that fail like any other until their first byte."""

import itertools
from collections.abc import Iterable, Iterator


def started[T](items: Iterable[T]) -> "StartedStream[T]":
    """`items`, with its first item already produced.

    A streamed body is produced while the server sends it, after Django's error handling:
    a query that fails there gets the server's own error page, or a body cut short under a
    200. Producing the first item in the view runs the first query there, so a database out
    of reach is a 503 like anywhere else. Only a failure later in the stream can still cut
    it short."""
    return StartedStream(items)


class StartedStream[T](Iterator[T]):
    def __init__(self, items: Iterable[T]) -> None:
        self._rest = iter(items)
        self._first = list(itertools.islice(self._rest, 1))

    def __next__(self) -> T:
        return self._first.pop() if self._first else next(self._rest)

    def close(self) -> None:
        # The response calls it when the client has the whole body or has gone away (the
        # server closes the response): a cursor the first item opened closes with the
        # request, not whenever the garbage collector gets to it.
        close = getattr(self._rest, "close", None)
        if close is not None:
            close()
