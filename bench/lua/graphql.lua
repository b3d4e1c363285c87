-- A fixed GraphQL request: the JSON body in $BODY_FILE, the session in $TOKEN.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
require("common").install(nil)
