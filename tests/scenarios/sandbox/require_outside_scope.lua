-- permissions: load fs:read=.
-- expect: no access to '/etc/passwd' (needs fs:read)
-- A script may point package.path anywhere; reading still needs fs:read there.
package.path = "/etc/?"
require("passwd")
