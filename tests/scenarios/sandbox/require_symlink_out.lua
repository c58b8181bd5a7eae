-- permissions: load fs:read=.
-- expect: link_out' (needs fs:read)
-- The runner puts link_out beside this script, pointing at /etc/passwd: require may not follow it out.
package.path = "./?"
require("link_out")
