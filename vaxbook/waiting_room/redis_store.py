"""The line in Redis (REDIS_URL or WAITING_ROOM_REDIS_URL): one script call per join, per
poll and per change of configuration, so each is one round trip and atomic.

Keys of a room share one hash tag ({wr:<room id>}), so they live on one node of a cluster:

- `st`  hash: `opened` (the pre-queue is closed), `fifo` (joins after the opening), `F`
  and `fat` (the admission frontier and when it was last written, Unix time);
- `pre` sorted set: the pre-queue, scored by each person's random draw;
- `tk`  hash: ticket id -> position ("p" while in the pre-queue);
- `acct` hash: account id -> ticket id (one place per account);
- `adm` hash: ticket id -> when it was admitted (its pass expires from then);
- `storm:<ticket>:<window>`: that ticket's polls in a ten-second window.

The first call at or after the opening instant closes the pre-queue (`opened`): from then
on a node whose clock is a little behind can no longer add a draw that would slip in front
of people already given a position. Times come from the app's clock (`now`), which the
frontier only ever moves forward.

If Redis lost the line (a restart without persistence), a poll brings a signed ticket
carrying its position: the script puts it back there, raises the join counter past it and,
for a ticket that was admitted, the frontier to it, so the people who already had a place
keep it. Joins that arrive before the old tickets have polled again may then share a
position with one of them (both are admitted at the same moment; nobody moves back).
"""

import functools
from typing import Any

import redis
from django.conf import settings

from vaxbook.waiting_room.engine import MAX_STEP_SECONDS, Entry, RoomConfig

# Polls one ticket may make in STORM_WINDOW_S before it is told to slow down (the page and
# any sensible client poll every few seconds at the most).
STORM_LIMIT = 10
STORM_WINDOW_S = 10
# The line's keys outlive the opening by this much, then vanish on their own.
KEY_TTL_S = 3 * 86400

SCRIPT = """
local st, pre, tk, acct, adm, storm = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local mode, tid, account = ARGV[1], ARGV[2], ARGV[3]
local now, opens, rate = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local paused, maxstep, lifetime = ARGV[8] == '1', tonumber(ARGV[9]), tonumber(ARGV[12])

if mode == 'poll' and tonumber(ARGV[13]) > 0 then
  local n = redis.call('INCR', storm)
  if n == 1 then redis.call('EXPIRE', storm, ARGV[14]) end
  if n > tonumber(ARGV[13]) then return {'storm', redis.call('TTL', storm)} end
end

local opened = redis.call('HGET', st, 'opened') == '1'
local fifo = tonumber(redis.call('HGET', st, 'fifo') or '0')
local F = tonumber(redis.call('HGET', st, 'F') or '0')
local fat = tonumber(redis.call('HGET', st, 'fat') or '0')
if not opened and now >= opens then
  opened, F, fat = true, 0, opens
  redis.call('HSET', st, 'opened', '1', 'F', '0', 'fat', tostring(fat))
end
local precount = redis.call('ZCARD', pre)

local pos = nil
if mode == 'poll' then
  pos = redis.call('HGET', tk, tid)
  if not pos then
    local known = tonumber(ARGV[10])
    if known then
      pos = known
      redis.call('HSET', tk, tid, known)
      if not opened then
        opened, fat = true, now
        redis.call('HSET', st, 'opened', '1', 'fat', tostring(fat))
      end
      if known > precount + fifo then
        fifo = known - precount
        redis.call('HSET', st, 'fifo', fifo)
      end
      if ARGV[11] == '1' and F < known then F = known end
    else
      mode = 'join'
    end
  end
end
if mode == 'join' then
  if account ~= '' then
    local mine = redis.call('HGET', acct, account)
    if mine then
      local at = tonumber(redis.call('HGET', adm, mine) or '')
      if (not at) or at + lifetime >= now then tid = mine end
    end
    redis.call('HSET', acct, account, tid)
  end
  pos = redis.call('HGET', tk, tid)
  if not pos then
    if opened then
      fifo = fifo + 1
      redis.call('HSET', st, 'fifo', fifo)
      pos = precount + fifo
      redis.call('HSET', tk, tid, pos)
    else
      redis.call('ZADD', pre, 'NX', ARGV[4], tid)
      redis.call('HSET', tk, tid, 'p')
      pos = 'p'
    end
  end
  for _, key in ipairs({st, pre, tk, acct, adm}) do redis.call('EXPIRE', key, ARGV[15]) end
end

if pos == 'p' then
  if opened then
    pos = redis.call('ZRANK', pre, tid) + 1
    redis.call('HSET', tk, tid, pos)
  else
    pos = nil
  end
elseif pos then
  pos = tonumber(pos)
end

local total = redis.call('ZCARD', pre) + fifo
if opened then
  if (not paused) and now > fat then
    F = math.min(total, F + rate * math.min(now - fat, maxstep))
  end
  if now > fat then fat = now end
  redis.call('HSET', st, 'F', tostring(F), 'fat', tostring(fat))
end
local at = ''
if pos and pos <= math.floor(F + 1e-9) then
  redis.call('HSETNX', adm, tid, tostring(now))
  at = redis.call('HGET', adm, tid)
end
return {'ok', tid, pos or -1, total, tostring(F), at, opened and 1 or 0, redis.call('ZCARD', pre)}
"""


class PollStorm(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many polls; retry after {retry_after} s.")
        self.retry_after = retry_after


@functools.cache
def _client(url: str) -> Any:
    timeout = settings.WAITING_ROOM_REDIS_TIMEOUT_S
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return client, client.register_script(SCRIPT)


class RedisStore:
    name = "redis"

    def __init__(self, url: str) -> None:
        self.url = url

    def join(
        self, *, room: RoomConfig, account_id: int | None, now: float, ticket_id: str, draw: int
    ) -> Entry:
        return self._entry(self._run(room, "join", now, ticket_id, account_id, draw=draw))

    def poll(
        self, *, room: RoomConfig, ticket_id: str, position: int | None, admitted: bool, now: float
    ) -> Entry:
        return self._entry(
            self._run(room, "poll", now, ticket_id, None, position=position, admitted=admitted)
        )

    def fold(self, *, room: RoomConfig, now: float) -> None:
        self._run(room, "fold", now, "-", None)

    def snapshot(self, *, room: RoomConfig, now: float) -> tuple[int, float, int]:
        reply = self._run(room, "fold", now, "-", None)
        opened = int(reply[6]) == 1
        return int(reply[3]), float(reply[4]), 0 if opened else int(reply[7])

    def _run(
        self,
        room: RoomConfig,
        mode: str,
        now: float,
        ticket_id: str,
        account_id: int | None,
        *,
        draw: int = 0,
        position: int | None = None,
        admitted: bool = False,
    ) -> list[Any]:
        _redis, script = _client(self.url)
        tag = f"vaxbook:{{wr:{room.id}}}"
        window = int(now // STORM_WINDOW_S)
        keys = [f"{tag}:{name}" for name in ("st", "pre", "tk", "acct", "adm")]
        keys.append(f"{tag}:storm:{ticket_id}:{window}")
        reply = script(
            keys=keys,
            args=[
                mode,
                ticket_id,
                "" if account_id is None else str(account_id),
                draw,
                repr(now),
                repr(room.opens_at_ts),
                repr(room.rate_per_second),
                "1" if room.paused else "0",
                repr(MAX_STEP_SECONDS),
                "" if position is None else str(position),
                "1" if admitted else "0",
                room.pass_lifetime_seconds,
                STORM_LIMIT,
                STORM_WINDOW_S,
                KEY_TTL_S,
            ],
        )
        if reply[0] == b"storm":
            raise PollStorm(max(1, int(reply[1])))
        return list(reply)

    @staticmethod
    def _entry(reply: list[Any]) -> Entry:
        _ok, tid, pos, total, frontier, at, opened, _pre = reply
        return Entry(
            ticket_id=tid.decode() if isinstance(tid, bytes) else str(tid),
            position=None if int(pos) < 0 else int(pos),
            total=int(total),
            admitted=float(frontier),
            admitted_at=float(at) if at else None,
            opened=int(opened) == 1,
        )
