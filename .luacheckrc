-- luacheck configuration (Debian's lua-check 1.1, which parses Lua 5.4).
-- spec/lint_spec.lua runs `luacheck lua scripts examples spec tools` and
-- fails on any warning.
std = "lua54"
-- the longest code lines today (option tables in scripts/); strings and
-- comments may run longer
max_line_length = 150
max_string_line_length = false
max_comment_line_length = false
-- `out, err, code = f()` reading only some of the results is fine
unused_secondaries = false
files["spec/"] = { std = "+busted" }
