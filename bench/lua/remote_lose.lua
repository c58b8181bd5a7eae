-- How long a node's loss takes to reach its workers' creator: bench/run_nodes signals the node (SIGKILL or
-- SIGSTOP) as soon as this prints READY; the time until the join returns "lost" is printed (it includes
-- the runner's reaction, a few milliseconds).
local node, how = ...
local w = worker.create{node = node, path = "echo.lua"}
worker.send(w, "up")
assert(worker.receive(w) == "up")
print("READY")
local t0 = worker.time()
local ok, err = worker.join(w, 30)
assert(not ok and err.kind == "lost", "expected a loss")
print(string.format("RESULT\ttroupe\tloss_%s_ms\t%.6f\t%.1f\tms", how, worker.time() - t0,
  (worker.time() - t0) * 1e3))
