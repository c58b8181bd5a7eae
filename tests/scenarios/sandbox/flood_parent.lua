-- expect: the parent's queue of this worker's unread messages is full
-- The parent never reads; the bound holds (messages below it stay queued).
for i = 1, 1e7 do worker.message(i) end
