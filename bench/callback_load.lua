-- Replays pre-sealed, distinct callbacks: each wrk thread takes every Nth line of the file.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local file, nthreads, path = args[1], tonumber(args[2]), args[3]
  reqs, n, i = {}, 0, 0
  for line in io.lines(file) do
    if n % nthreads == id then
      local q, body = line:match("([^\t]*)\t(.*)")
      reqs[#reqs + 1] = wrk.format("POST", path .. "?" .. q, {["Content-Type"] = "text/xml"}, body)
    end
    n = n + 1
  end
end

function request()
  i = i + 1
  if i > #reqs then
    i = 1
    io.stderr:write("WRAPPED\n")
  end
  return reqs[i]
end
