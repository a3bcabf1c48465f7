--- Print a greeting: the example workflow (luac-ctr hello [NAME]).
-- A workflow is a plain Lua script: `arg` holds its arguments, `...` too.
-- Copy it to ~/.config/luac-ctr/scripts/ to make your own.
local name = arg[1] or "world"
print("hello, " .. name .. "!")
