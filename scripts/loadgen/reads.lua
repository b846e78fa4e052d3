-- wrk script for `scripts/bench-http --reads`: each request reads one page
-- of 10,000 alerts at a random place in a database of 1,000,000 (GET
-- /v1/alerts?after=&limit=10000), as an officer's tool paging through them.
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
local pages = tonumber(os.getenv("OBLIGO_BENCH_PAGES") or "100")
local errors = 0

request = function()
    local after = math.random(0, pages - 1) * 10000
    return wrk.format("GET", "/v1/alerts?limit=10000&after=" .. after)
end

response = function(status, headers, body)
    if status ~= 200 then
        errors = errors + 1
    end
end
