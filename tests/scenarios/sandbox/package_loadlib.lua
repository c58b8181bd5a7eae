-- expect: field 'loadlib'
-- The package table has no loadlib: C libraries never load.
package.loadlib('libc.so.6', 'system')
