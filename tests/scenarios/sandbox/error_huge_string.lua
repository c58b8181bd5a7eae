-- expect: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
-- A 10 MB message reaches the parent whole.
error(string.rep('x', 10 * 1024 * 1024), 0)
