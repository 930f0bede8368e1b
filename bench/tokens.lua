-- wrk script for configuration (b): every request carries the next token of a
-- file of distinct valid session tokens (one a line), rotating over the file.
--
--   wrk -t1 -c32 -d5s -s bench/tokens.lua http://127.0.0.1:18411/api/data -- tokens.txt
--
-- The file comes from the fixture (bench/tools/fixture): 10 000 tokens by
-- default. Each wrk thread starts at its own offset.

local tokens = {}
local n = 0
local i = 0
local threads = 0

function setup(thread)
   thread:set("offset", threads)
   threads = threads + 1
end

function init(args)
   local path = args[1] or os.getenv("TOKENS_FILE")
   if not path then
      error("tokens.lua: pass the tokens file after --, or set TOKENS_FILE")
   end
   for line in io.lines(path) do
      if #line > 0 then
         n = n + 1
         tokens[n] = "Bearer " .. line
      end
   end
   if n == 0 then
      error("tokens.lua: no tokens in " .. path)
   end
   i = ((offset or 0) * 2503) % n
end

function request()
   i = i % n + 1
   return wrk.format(nil, nil, { ["Authorization"] = tokens[i] })
end
