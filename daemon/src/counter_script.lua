#!lua
-- vigil: apply one worker batch atomically (DESIGN.md sections 1 and 6,
-- docs/REDIS.md). Built by counter_store.c; this file is embedded into the
-- daemon at build time and addressed by its SHA1 (EVALSHA).
--
-- KEYS[1]   the offsets hash vigil:{ns}:offsets:<group>
-- KEYS[2..] every other key the batch touches; each gets EXPIRE retention,
--           except the findings stream (the last key, named by X ops only),
--           which is capped instead
--
-- ARGV[1]   layout version, "1"
-- ARGV[2]   retention, seconds
-- ARGV[3]   P, the number of partitions, then P triples:
--           field "<topic>:<partition>", expected offset ("-1" = unset),
--           next offset
-- then ops, each an opcode and its arguments (k = index into KEYS):
--   I k n                  INCRBY KEYS[k] n
--   F k x                  INCRBYFLOAT KEYS[k] x
--   H k m f1 n1 .. fm nm   HINCRBY KEYS[k] fi ni
--   D k m v1 .. vm         PFADD KEYS[k] v1 .. vm
--   P o s w key a e t      pair key `key` of the open-starts hash KEYS[o]:
--                          a = earliest start before the first end, e =
--                          the first end, t = the start left open after
--                          it ("" = none); KEYS[s] the stats hash of e's
--                          bucket, w the counter's `within` in ms
--   X k c m f1 v1 .. fm vm XADD KEYS[k] MAXLEN ~ c * f1 v1 .. fm vm: one
--                          finding of a `record: true` rule
--
-- Returns {0, stored_1, .., stored_P} without writing anything when a
-- stored offset is not the expected one ("" = unset), else
-- {1, failed, first_error}: ops that Redis refused (a key of another type,
-- an overflow) are skipped and counted, the rest applied, and the offsets
-- advanced, so a batch is never applied twice.

local CHUNK = 512

local np = tonumber(ARGV[3])
local offsets = KEYS[1]

-- Calls cmd with the fixed args and then items[from..to], CHUNK at a
-- time; returns the concatenated replies.
local function chunked(call, cmd, key, items, from, to)
    local out = {}
    for i = from, to, CHUNK do
        local r = call(cmd, key, unpack(items, i, math.min(to, i + CHUNK - 1)))
        if type(r) == 'table' then
            for j = 1, #r do out[#out + 1] = r[j] end
        end
    end
    return out
end

-- The fence.
if np > 0 then
    local fields = {}
    for p = 1, np do fields[p] = ARGV[1 + 3 * p] end
    local stored = chunked(redis.call, 'HMGET', offsets, fields, 1, np)
    local ok = true
    for p = 1, np do
        local want = ARGV[2 + 3 * p]
        local have = stored[p]
        if have == false then have = '-1' end
        if have ~= want then ok = false end
    end
    if not ok then
        local r = {0}
        for p = 1, np do r[p + 1] = stored[p] or '' end
        return r
    end
end

local failed, first_error = 0, ''
local capped = {}
local function run(...)
    local r = redis.pcall(...)
    if type(r) == 'table' and r.err then
        failed = failed + 1
        if first_error == '' then first_error = r.err end
    end
    return r
end

-- The histogram bin of a duration (ms, >= 0); batch.c's vigil_batch_bin.
local function bin_of(d)
    if d < 4 then return d end
    local p, e = 1, 0
    while p * 2 <= d do
        p = p * 2
        e = e + 1
    end
    return 4 * (e - 1) + math.floor(d * 4 / p) - 4
end

local function pair(open, stats, within, key, a, e, t)
    local start = run('HGET', open, key)
    if type(start) ~= 'string' then start = nil end
    start = tonumber(start)
    local early = tonumber(a)
    if early and (not start or early < start) then start = early end
    if e == '' then
        if early and start == early then run('HSET', open, key, a) end
        return
    end
    if start then
        local d = tonumber(e) - start
        if d < 0 then d = 0 end
        run('HINCRBY', stats, 'count', 1)
        run('HINCRBY', stats, 'sum', string.format('%d', d))
        if d <= within then run('HINCRBY', stats, 'within', 1) end
        run('HINCRBY', stats, 'b' .. string.format('%d', bin_of(d)), 1)
    end
    if t ~= '' then
        run('HSET', open, key, t)
    elseif start then
        run('HDEL', open, key)
    end
end

local i = 4 + 3 * np
local n = #ARGV
while i <= n do
    local op = ARGV[i]
    local k = KEYS[tonumber(ARGV[i + 1])]
    if op == 'I' then
        run('INCRBY', k, ARGV[i + 2])
        i = i + 3
    elseif op == 'F' then
        run('INCRBYFLOAT', k, ARGV[i + 2])
        i = i + 3
    elseif op == 'H' then
        local m = tonumber(ARGV[i + 2])
        for j = i + 3, i + 1 + 2 * m, 2 do
            run('HINCRBY', k, ARGV[j], ARGV[j + 1])
        end
        i = i + 3 + 2 * m
    elseif op == 'D' then
        local m = tonumber(ARGV[i + 2])
        chunked(run, 'PFADD', k, ARGV, i + 3, i + 2 + m)
        i = i + 3 + m
    elseif op == 'X' then
        local m = tonumber(ARGV[i + 3])
        run('XADD', k, 'MAXLEN', '~', ARGV[i + 2], '*',
            unpack(ARGV, i + 4, i + 3 + 2 * m))
        capped[tonumber(ARGV[i + 1])] = true
        i = i + 4 + 2 * m
    elseif op == 'P' then
        pair(k, KEYS[tonumber(ARGV[i + 2])], tonumber(ARGV[i + 3]),
             ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7])
        i = i + 8
    else
        return redis.error_reply('vigil: bad batch op ' .. tostring(op))
    end
end

for k = 2, #KEYS do
    if not capped[k] then redis.call('EXPIRE', KEYS[k], ARGV[2]) end
end

if np > 0 then
    local kv = {}
    for p = 1, np do
        kv[2 * p - 1] = ARGV[1 + 3 * p]
        kv[2 * p] = ARGV[3 + 3 * p]
    end
    chunked(redis.call, 'HSET', offsets, kv, 1, 2 * np)
end

return {1, failed, first_error}
