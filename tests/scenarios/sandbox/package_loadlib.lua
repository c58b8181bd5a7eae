-- expect: global 'package'
-- There is no package library, so no loadlib.
package.loadlib('libc.so.6', 'system')
