-- expect: permission denied: exec (io.popen "id")
io.popen("id")
