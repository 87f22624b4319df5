-- wrk script: open-loop load at a fixed rate, latency counted from each request's scheduled time
-- (wrk2's way), with pre-signed GoHighLevel webhooks, a different one each request.
--
-- Run with as many threads as connections (-t L -c L): each thread is one lane with one
-- connection, so its request() and response() alternate and it knows which request answered.
-- Lane k sends requests k, k+L, k+2L, ... of the run, request n due at start + n / rate; a lane
-- still awaiting an answer sends late, and that lateness counts in the next request's latency,
-- so a server that stalls cannot hide behind a waiting client.
--
-- Arguments (after `--`): lane folder (lane-<k>.txt: `signature<TAB>body` lines in order),
-- lanes, start (CLOCK_MONOTONIC µs of request 0, as Python's time.monotonic()), rate (requests/s),
-- seconds (the window; a lane still catching up after it gives up its remaining requests, each
-- counted as answered at that moment, a lower bound).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } hookline_timespec;
int clock_gettime(int clock_id, hookline_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("hookline_timespec")

local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
   return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end

local threads, lane_count = {}, 0
local IDLE_MS = 3600 * 1000 -- a lane with nothing left to send waits out the run

function setup(thread)
   thread:set("lane", lane_count)
   lane_count = lane_count + 1
   table.insert(threads, thread)
end

local signatures, bodies, size = {}, {}, 0
local lanes, start, interval, window_end
local sent = 0            -- requests of this lane sent so far
local awaiting = nil      -- the due time of the request on the wire, nil when none is
local on_time = false     -- the lane was free before the due time: any lateness is the generator's
last_answer = 0           -- when this lane's last answer came, µs after start
local headers = {["Content-Type"] = "application/json"}
latencies, lags, statuses = {}, {}, {}
late_sends, unsent = 0, 0

function init(args)
   for line in io.lines(string.format("%s/lane-%d.txt", args[1], lane)) do
      local tab = line:find("\t", 1, true)
      size = size + 1
      signatures[size] = line:sub(1, tab - 1)
      bodies[size] = line:sub(tab + 1)
   end
   lanes, start = tonumber(args[2]), tonumber(args[3])
   interval = 1e6 / tonumber(args[4])
   window_end = start + tonumber(args[5]) * 1e6
end

local function due(index)  -- index: 0-based position in this lane
   return start + (lane + index * lanes) * interval
end

function delay()
   if sent >= size then
      return IDLE_MS
   end
   local now = now_us()
   if now > window_end then -- still catching up at the end: the server fell far behind
      for index = sent, size - 1 do
         latencies[#latencies + 1] = now - due(index)
      end
      unsent = unsent + (size - sent)
      sent = size
      return IDLE_MS
   end
   local wait = due(sent) - now
   on_time = wait >= 0
   if not on_time then
      late_sends = late_sends + 1 -- the last answer came after this one's time: the server's delay
      return 0
   end
   return math.ceil(wait / 1000)
end

function request()
   -- wrk asks again for a request it could not write yet (or writes again after a reconnect, which
   -- it counts as an error): the same one, once more.
   if awaiting == nil then
      awaiting = due(sent)
      if on_time then
         lags[#lags + 1] = now_us() - awaiting
      end
      sent = sent + 1
   end
   headers["x-ghl-signature"] = signatures[sent]
   return wrk.format("POST", "/webhooks/ghl", headers, bodies[sent])
end

function response(status, headers, body)
   local now = now_us()
   last_answer = now - start
   latencies[#latencies + 1] = now - awaiting
   awaiting = nil
   statuses[status] = (statuses[status] or 0) + 1
end

local function percentile(sorted, fraction)
   if #sorted == 0 then
      return 0
   end
   return sorted[math.min(#sorted, math.floor(fraction * #sorted) + 1)]
end

-- One line for bench/loadgen.py to parse.
function done(summary, latency, requests)
   local all_latencies, all_lags, counts = {}, {}, {}
   local late, never_sent, cut_off, last = 0, 0, 0, 0
   local finished = now_us()
   for _, thread in ipairs(threads) do
      for _, value in ipairs(thread:get("latencies")) do
         all_latencies[#all_latencies + 1] = value
      end
      for _, value in ipairs(thread:get("lags")) do
         all_lags[#all_lags + 1] = value
      end
      for status, count in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + count
      end
      late = late + thread:get("late_sends")
      never_sent = never_sent + thread:get("unsent")
      last = math.max(last, thread:get("last_answer"))
      local pending = thread:get("awaiting")
      if pending ~= nil then -- sent, and no answer by the end of wrk's run: counted as answered now
         cut_off = cut_off + 1
         all_latencies[#all_latencies + 1] = finished - pending
      end
   end
   table.sort(all_latencies)
   table.sort(all_lags)
   local parts = {}
   for status, count in pairs(counts) do
      table.insert(parts, status .. ":" .. count)
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH p50_us=%d p99_us=%d max_us=%d lag_p99_us=%d last_answer_us=%d late=%d unsent=%d cut_off=%d"
         .. " connect=%d read=%d write=%d timeout=%d statuses=%s\n",
      percentile(all_latencies, 0.50), percentile(all_latencies, 0.99), all_latencies[#all_latencies] or 0,
      percentile(all_lags, 0.99), last, late, never_sent, cut_off,
      e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
