-- wrk script: POST pre-signed GoHighLevel webhooks, a different one each request, and count statuses.
-- Arguments (after `--`): path of the `signature<TAB>body` file, first index, thread count.
-- Thread k sends entries first+k, first+k+threads, ... so no two requests of a run share a webhookId.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("thread_index", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

local signatures, bodies, size = {}, {}, 0
local cursor, step = 0, 1
local headers = {["Content-Type"] = "application/json"}
issued = 0
statuses = {}

function init(args)
   for line in io.lines(args[1]) do
      local tab = line:find("\t", 1, true)
      size = size + 1
      signatures[size] = line:sub(1, tab - 1)
      bodies[size] = line:sub(tab + 1)
   end
   step = tonumber(args[3])
   cursor = tonumber(args[2]) + thread_index
end

function request()
   local index = cursor % size + 1
   cursor = cursor + step
   issued = issued + 1
   headers["x-ghl-signature"] = signatures[index]
   return wrk.format("POST", "/webhooks/ghl", headers, bodies[index])
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

-- One line for bench/loadgen.py to parse; wrk's own report is printed above it.
function done(summary, latency, requests)
   local counts, most_issued = {}, 0
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + count
      end
      most_issued = math.max(most_issued, thread:get("issued"))
   end
   local parts = {}
   for status, count in pairs(counts) do
      table.insert(parts, status .. ":" .. count)
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH duration_us=%d responses=%d p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d timeout=%d"
         .. " issued_per_thread=%d statuses=%s\n",
      summary.duration, summary.requests, latency:percentile(50.0), latency:percentile(99.0), latency.max,
      e.connect, e.read, e.write, e.timeout, most_issued, table.concat(parts, ",")))
end
