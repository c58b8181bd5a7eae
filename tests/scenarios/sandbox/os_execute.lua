-- expect: permission denied: exec (os.execute "id")
os.execute("id")
