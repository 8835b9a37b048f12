"""The line in the database: the embedded default (no REDIS_URL), correct on one machine.

Every change of the line (a join, the draw at the opening, a change of rate or pause)
takes the room's LineState row lock (`SELECT ... FOR UPDATE`; on SQLite `BEGIN IMMEDIATE`
serialises writers anyway), so two joins can never take one position, and the unique
constraints (room, position) and (room, account) stand behind it. A poll only reads,
except for the one conditional update that records when a ticket was first admitted.
"""

from django.db import IntegrityError, transaction

from vaxbook.waiting_room.engine import Entry, RoomConfig, advance
from vaxbook.waiting_room.models import LineState, Ticket


class DatabaseStore:
    name = "database"

    def join(
        self, *, room: RoomConfig, account_id: int | None, now: float, ticket_id: str, draw: int
    ) -> Entry:
        with transaction.atomic():
            state = self._locked_state(room, now)
            if account_id is not None:
                existing = Ticket.objects.filter(room_id=room.id, account_id=account_id).first()
                if existing is not None:
                    spent = (
                        existing.admitted_at is not None
                        and existing.admitted_at + room.pass_lifetime_seconds < now
                    )
                    if not spent:
                        return self._entry(room, state, existing, now)
                    # Their turn came and its pass expired: a new place, at the back.
                    Ticket.objects.filter(pk=existing.pk).update(account=None)
            ticket = Ticket(
                room_id=room.id,
                ticket_id=ticket_id,
                account_id=account_id,
                draw=draw,
                joined_at=now,
            )
            if state.opened:
                self._fold(room, state, now)
                state.fifo_count += 1
                ticket.position = state.pre_count + state.fifo_count
                state.save(update_fields=["fifo_count", "admitted", "admitted_at"])
            try:
                with transaction.atomic():
                    ticket.save()
            except IntegrityError:
                # The same account joining twice at once: the lock serialises the two, so
                # this is the second; it gets the first one's place.
                found = Ticket.objects.get(room_id=room.id, account_id=account_id)
                return self._entry(room, state, found, now)
            return self._entry(room, state, ticket, now)

    def poll(
        self, *, room: RoomConfig, ticket_id: str, position: int | None, admitted: bool, now: float
    ) -> Entry | None:
        state = LineState.objects.filter(room_id=room.id).first()
        if state is None or (not state.opened and now >= room.opens_at_ts):
            with transaction.atomic():
                state = self._locked_state(room, now)
        ticket = Ticket.objects.filter(room_id=room.id, ticket_id=ticket_id).first()
        if ticket is None:
            return None
        entry = self._entry(room, state, ticket, now)
        if entry.position is not None and entry.position <= entry.admitted + 1e-9:
            if ticket.admitted_at is None:
                # Conditional: of two polls at once, one records the instant.
                Ticket.objects.filter(pk=ticket.pk, admitted_at__isnull=True).update(
                    admitted_at=now
                )
                ticket.refresh_from_db(fields=["admitted_at"])
            entry = self._entry(room, state, ticket, now)
        return entry

    def fold(self, *, room: RoomConfig, now: float) -> None:
        """Write the frontier as the old configuration had it moving, before a change."""
        with transaction.atomic():
            state = self._locked_state(room, now)
            self._fold(room, state, now)
            state.save(update_fields=["admitted", "admitted_at"])

    def snapshot(self, *, room: RoomConfig, now: float) -> tuple[int, float, int]:
        """People with a place, the frontier, people in the pre-queue."""
        state = LineState.objects.filter(room_id=room.id).first()
        if state is None:
            return 0, 0.0, 0
        total = state.pre_count + state.fifo_count
        pre = 0
        if not state.opened:
            pre = Ticket.objects.filter(room_id=room.id, position__isnull=True).count()
        return total, self._frontier(room, state, now), pre

    # --- inside -----------------------------------------------------------------------

    def _locked_state(self, room: RoomConfig, now: float) -> LineState:
        LineState.objects.get_or_create(room_id=room.id)
        state = LineState.objects.select_for_update().get(room_id=room.id)
        if not state.opened and now >= room.opens_at_ts:
            self._draw(room, state)
        return state

    def _draw(self, room: RoomConfig, state: LineState) -> None:
        """The opening: the pre-queue takes positions 1..P in the order of its draws."""
        pre = list(
            Ticket.objects.filter(room_id=room.id, position__isnull=True).order_by("draw", "pk")
        )
        for index, ticket in enumerate(pre, start=1):
            ticket.position = index
        Ticket.objects.bulk_update(pre, ["position"], batch_size=1000)
        state.opened = True
        state.pre_count = len(pre)
        state.admitted = 0.0
        state.admitted_at = room.opens_at_ts
        state.save(update_fields=["opened", "pre_count", "admitted", "admitted_at"])

    def _frontier(self, room: RoomConfig, state: LineState, now: float) -> float:
        if not state.opened:
            return 0.0
        return advance(
            admitted=state.admitted,
            since=state.admitted_at,
            now=now,
            total=state.pre_count + state.fifo_count,
            rate_per_second=room.rate_per_second,
            paused=room.paused,
        )

    def _fold(self, room: RoomConfig, state: LineState, now: float) -> None:
        if state.opened:
            state.admitted = self._frontier(room, state, now)
            state.admitted_at = max(now, state.admitted_at)

    def _entry(self, room: RoomConfig, state: LineState, ticket: Ticket, now: float) -> Entry:
        return Entry(
            ticket_id=ticket.ticket_id,
            position=ticket.position,
            total=state.pre_count + state.fifo_count,
            admitted=self._frontier(room, state, now),
            admitted_at=ticket.admitted_at,
            opened=state.opened,
        )
