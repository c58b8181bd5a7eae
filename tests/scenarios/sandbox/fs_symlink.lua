-- permissions: fs:read=.
-- expect: permission denied: fs:read (io.open "link_out")
-- The runner puts link_out beside this script, pointing at /etc/passwd.
io.open("link_out")
