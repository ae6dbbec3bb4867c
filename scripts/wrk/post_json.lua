-- wrk script: POST the JSON file $BODY_FILE, with `Authorization: Bearer $TOKEN` when set.
-- Used by scripts/load.sh for POST /_matrix/identity/v2/lookup.
local f = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE not set"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
