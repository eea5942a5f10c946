-- wrk script: POST one JSON-RPC body over and over, and check every reply.
--
-- Environment (set by benchmarks/run.py):
--   BENCH_BODY_FILE       file holding the exact request body
--   BENCH_EXPECT_RESULTS  how many '"result"' members a correct reply holds (1, or 100 for a batch)
--   BENCH_MAX_REQUESTS    stop after this many replies (a safety bound; the run is bounded by -d as well)
--
-- A reply counts as bad when its status is not 200 (non200), or when it holds an '"error"' member or not
-- the expected number of '"result"' members (rpc_errors). done() prints one line, BENCH_RESULT {json},
-- that run.py reads.

local body_file = os.getenv('BENCH_BODY_FILE')
if not body_file then
  error('BENCH_BODY_FILE is not set')
end
local handle = assert(io.open(body_file, 'rb'))
local request_body = handle:read('*a')
handle:close()

local expect_results = tonumber(os.getenv('BENCH_EXPECT_RESULTS') or '1')
local max_requests = tonumber(os.getenv('BENCH_MAX_REQUESTS') or '10000000')

wrk.method = 'POST'
wrk.body = request_body
wrk.headers['Content-Type'] = 'application/json'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  replies = 0
  non200 = 0
  rpc_errors = 0
  first_bad = ''
  -- No request() here: wrk.init calls this init, then formats wrk.method/body/headers into one request
  -- that every connection resends, so the run stays static (no Lua per request on the send side).
end

local function count(text, needle)
  local found, from = 0, 1
  while true do
    local at = string.find(text, needle, from, true)
    if not at then
      return found
    end
    found = found + 1
    from = at + #needle
  end
end

function response(status, headers, body)
  replies = replies + 1
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == '' then
      first_bad = 'HTTP ' .. status .. ': ' .. string.sub(body or '', 1, 200)
    end
  elseif string.find(body, '"error"', 1, true) or count(body, '"result"') ~= expect_results then
    rpc_errors = rpc_errors + 1
    if first_bad == '' then
      first_bad = string.sub(body, 1, 200)
    end
  end
  if replies >= max_requests then
    wrk.thread:stop()
  end
end

local function json_string(text)
  return '"' .. string.gsub(text, '[%c"\\]', function(c)
    return string.format('\\u%04x', string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local replies_total, non200_total, rpc_errors_total, first = 0, 0, 0, ''
  for _, thread in ipairs(threads) do
    replies_total = replies_total + (thread:get('replies') or 0)
    non200_total = non200_total + (thread:get('non200') or 0)
    rpc_errors_total = rpc_errors_total + (thread:get('rpc_errors') or 0)
    if first == '' then
      first = thread:get('first_bad') or ''
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "replies": %d, "non200": %d, '
      .. '"rpc_errors": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"status_errors": %d, "timeouts": %d, "latency_p50_us": %d, "latency_p99_us": %d, '
      .. '"latency_max_us": %d, "first_bad": %s}\n',
    summary.requests, summary.duration, summary.bytes, replies_total, non200_total, rpc_errors_total,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, json_string(first)
  ))
end
