-- permissions: worker load fs:read=.
-- expect: worker limit reached
while true do worker.create('spawn_bomb.lua') end
