-- limits: timeout=0.3
-- expect: time limit exceeded
-- table.move loops inside one C call.
table.move({}, 1, 1e17, 1)
