-- wrk script for tests/benchmarks/webhook_intake.py: signed Shopify `orders/paid` deliveries,
-- each with its own X-Shopify-Webhook-Id, and exact counts printed by done().
--
-- Arguments (after `--`): body_file hmac shop topic api_version triggered_at id_prefix
-- The body is the same for every request, so its HMAC is computed once, in Python.

local threads = {}
local thread_count = 0

-- Main environment: number the threads so their webhook ids never collide.
function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_no", thread_count)
   table.insert(threads, thread)
end

-- Each thread's environment from here on.
function init(args)
   local file = assert(io.open(args[1], "rb"))
   payload = file:read("*a")
   file:close()
   prefix = args[7]
   headers = {
      ["Content-Type"] = "application/json",
      ["X-Shopify-Hmac-Sha256"] = args[2],
      ["X-Shopify-Shop-Domain"] = args[3],
      ["X-Shopify-Topic"] = args[4],
      ["X-Shopify-API-Version"] = args[5],
      ["X-Shopify-Triggered-At"] = args[6],
   }
   generated = 0   -- requests built (some may still be in flight when wrk stops)
   ok = 0          -- 2xx responses
   non2xx = 0      -- everything else, 3xx included (wrk's own count starts at 400)
   received = 0    -- 2xx whose body says a new inbox row was stored
   duplicate = 0   -- 2xx whose body says the id was stored before
end

function request()
   generated = generated + 1
   local id = prefix .. "-" .. thread_no .. "-" .. generated
   headers["X-Shopify-Webhook-Id"] = id
   headers["X-Shopify-Event-Id"] = "event-" .. id
   return wrk.format("POST", nil, headers, payload)
end

function response(status, response_headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
      if string.find(body, '"received"', 1, true) then
         received = received + 1
      elseif string.find(body, '"duplicate"', 1, true) then
         duplicate = duplicate + 1
      end
   else
      non2xx = non2xx + 1
   end
end

-- Main environment again: one machine-readable line for the Python driver.
function done(summary, latency, requests)
   local totals = { generated = 0, ok = 0, non2xx = 0, received = 0, duplicate = 0 }
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + (thread:get(name) or 0)
      end
   end
   local errors = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d mean_us=%d "
         .. "ok=%d non2xx=%d received=%d duplicate=%d generated=%d "
         .. "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
      totals.ok, totals.non2xx, totals.received, totals.duplicate, totals.generated,
      errors.connect, errors.read, errors.write, errors.timeout
   ))
end
