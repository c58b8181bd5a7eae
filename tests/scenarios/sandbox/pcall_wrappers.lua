-- limits: timeout=0.5
-- expect: time limit exceeded
-- pcall, xpcall and coroutines around the loop swallow every error they see;
-- the stop is raised again on every instruction, so they cannot keep it.
while true do
  pcall(function()
    xpcall(coroutine.wrap(function()
      while true do pcall(function() while true do end end) end
    end), function() return 'swallowed' end)
  end)
end
