-- limits: timeout=0.5
-- expect: time limit exceeded
-- Exponential backtracking inside one C call: the match itself must stop.
string.find(('a'):rep(3000), ('a*'):rep(6) .. 'b')
