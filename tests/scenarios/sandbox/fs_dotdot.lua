-- permissions: fs:read=.
-- expect: permission denied: fs:read (io.open "../../../../../../../../etc/passwd")
io.open("../../../../../../../../etc/passwd")
