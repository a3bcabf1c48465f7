-- gencompletion.lua: the bash and zsh completions of luac-ctr and a man
-- page per command, generated from the workflows' own option tables.
--
--   lua5.4 tools/gencompletion.lua SRCDIR OUTDIR
--
-- Reads every scripts/*.lua (a new workflow is picked up without a list):
-- its first line "-- NAME: Description", its usage ("usage = ..."), its
-- header comment, its ctr.cli option definitions ({ "s"|nil, "long",
-- "kind", "description", ... } table constructors, evaluated in an empty
-- environment: nothing of the script runs) and its subcommands (the
-- "Commands:" list of its usage text). A workflow that requires
-- ctr.run_options gets run's options (lua/ctr/run_options.lua) too.
-- Writes OUTDIR/share/bash-completion/completions/luac-ctr,
-- OUTDIR/share/zsh/site-functions/_luac-ctr,
-- OUTDIR/share/man/man1/luac-ctr.1 and luac-ctr-CMD.1 for each command.
local srcdir, outdir = arg[1], arg[2]
if not srcdir or not outdir then
  io.stderr:write("usage: lua5.4 tools/gencompletion.lua SRCDIR OUTDIR\n")
  os.exit(2)
end

local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, text)
  assert(os.execute("mkdir -p '" .. path:match("^(.*)/[^/]*$"):gsub("'", "'\\''") .. "'"))
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- the end of the table constructor starting at s[i] == "{" (strings and
-- nested braces skipped), or nil
local function constructor_end(s, i)
  local depth = 0
  while i <= #s do
    local c = s:sub(i, i)
    if c == '"' or c == "'" then
      local j = i + 1
      while j <= #s and s:sub(j, j) ~= c do j = j + (s:sub(j, j) == "\\" and 2 or 1) end
      i = j
    elseif c == "{" then depth = depth + 1
    elseif c == "}" then
      depth = depth - 1
      if depth == 0 then return i end
    end
    i = i + 1
  end
end

-- the option definitions in a Lua source text
local function option_defs(src)
  local defs, seen = {}, {}
  local pos = 1
  while true do
    local a = src:find('{%s*nil%s*,%s*"[%w-]+"%s*,%s*"%a+"', pos)
    local b = src:find('{%s*"%w"%s*,%s*"[%w-]+"%s*,%s*"%a+"', pos)
    local s = (a and b) and math.min(a, b) or a or b
    if not s then break end
    local e = constructor_end(src, s)
    if not e then break end
    local chunk = load("return " .. src:sub(s, e), "=def", "t", {})
    local ok, d = pcall(chunk or error)
    if ok and type(d) == "table" and type(d[2]) == "string" and type(d[3]) == "string" and not seen[d[2]] then
      seen[d[2]] = true
      defs[#defs + 1] = { short = d[1], long = d[2], kind = d[3], desc = d[4] or "" }
    end
    pos = e + 1
  end
  return defs
end

-- the subcommands of a "Commands:" usage text: {{name, description}...}
local function subcommands(src)
  local at = src:find("Commands:", 1, true)
  local subs = {}
  if not at then return subs end
  for l in src:sub(at):gmatch("[^\n]+") do
    local name, desc = l:match('^%s*"?  ([a-z][%w-]*)%s%s+([A-Z][^"\\]*)')
    if name then subs[#subs + 1] = { name, desc } elseif #subs > 0 and not l:find("Commands:", 1, true) then break end
  end
  return subs
end

-- one workflow's description
local function command(path, run_defs)
  local src = read(path)
  local name = path:match("([^/]+)%.lua$")
  local c = { name = name, desc = src:match("^%-%- [%w_-]+: ([^\n]+)") or "", defs = option_defs(src),
              subs = subcommands(src), usage = src:match('usage = "([^"]+)"') or (name .. " [OPTIONS]"), text = {} }
  if src:find('require "ctr.run_options"', 1, true) or src:find("require%(\"ctr.run_options\"%)") then
    local own = {}
    for _, d in ipairs(c.defs) do own[d.long] = true end
    for _, d in ipairs(run_defs) do
      if not own[d.long] and not (name ~= "run" and d.long == "detach") then c.defs[#c.defs + 1] = d end
    end
  end
  for l in src:gmatch("[^\n]*") do -- the header comment, after its first line
    if not l:match("^%-%-") then break end
    c.text[#c.text + 1] = l:gsub("^%-%- ?", "")
  end
  table.remove(c.text, 1)
  c.operand = (c.usage:find("CONTAINER", 1, true) and "container") or (c.usage:find("IMAGE", 1, true) and "image") or nil
  return c
end

local function commands()
  local run_defs = option_defs(read(srcdir .. "/lua/ctr/run_options.lua"))
  local p = io.popen("ls -1 '" .. srcdir:gsub("'", "'\\''") .. "/scripts'")
  local list = {}
  for f in p:lines() do
    if f:match("^[%w_-]+%.lua$") and f ~= "hello.lua" then list[#list + 1] = command(srcdir .. "/scripts/" .. f, run_defs) end
  end
  p:close()
  table.sort(list, function(a, b) return a.name < b.name end)
  return list
end

local function words(c)
  local t = {}
  for _, d in ipairs(c.defs) do
    t[#t + 1] = "--" .. d.long
    if d.short then t[#t + 1] = "-" .. d.short end
  end
  t[#t + 1] = "--help"
  return table.concat(t, " ")
end

local function valued(c)
  local t = {}
  for _, d in ipairs(c.defs) do
    if d.kind ~= "flag" then
      t[#t + 1] = "--" .. d.long
      if d.short then t[#t + 1] = "-" .. d.short end
    end
  end
  return table.concat(t, "|")
end

local function bash(list)
  local names, cases = {}, {}
  for _, c in ipairs(list) do
    names[#names + 1] = c.name
    local subs = {}
    for _, s in ipairs(c.subs) do subs[#subs + 1] = s[1] end
    cases[#cases + 1] = ("    %s) opts=%q; subs=%q; operand=%q; valued=%q ;;"):format(
      c.name, words(c), table.concat(subs, " "), c.operand or "", valued(c) ~= "" and valued(c) or "--none--")
  end
  return ([==[
# bash completion for luac-ctr (generated by tools/gencompletion.lua from scripts/*.lua)
_luac_ctr() {
  local cur prev cmd opts subs operand valued i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local cmds="%s"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      --root) ((i++)) ;;
      -*) ;;
      *) cmd="${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=( $(compgen -W "$cmds --root --help --version" -- "$cur") )
    return 0
  fi
  case "$cmd" in
%s
    *) COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
  esac
  if [[ "$valued" != "--none--" && "|$valued|" == *"|$prev|"* ]]; then
    COMPREPLY=( $(compgen -f -- "$cur") )
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    return 0
  fi
  if [[ -n "$subs" && $COMP_CWORD -eq $((i + 1)) ]]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
    return 0
  fi
  case "$operand" in
    container) COMPREPLY=( $(compgen -W "$(luac-ctr ps -a --format '{{.Names}}' 2>/dev/null)" -- "$cur") ) ;;
    image) COMPREPLY=( $(compgen -W "$(luac-ctr images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null)" -- "$cur") ) ;;
    *) COMPREPLY=( $(compgen -f -- "$cur") ) ;;
  esac
  return 0
}
complete -F _luac_ctr luac-ctr
]==]):format(table.concat(names, " "), table.concat(cases, "\n"))
end

-- a single-quoted zsh word
local function sq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
-- a description inside an _arguments spec or a _describe item: no
-- brackets, colons escaped
local function zd(s) return (s:gsub("%[", "("):gsub("%]", ")"):gsub(":", "\\:")) end

local function zsh(list)
  local descs, cases = {}, {}
  for _, c in ipairs(list) do
    descs[#descs + 1] = "    " .. sq(c.name .. ":" .. zd(c.desc))
    local specs = {}
    for _, d in ipairs(c.defs) do
      local tail = "[" .. zd(d.desc) .. "]" .. (d.kind == "flag" and "" or (":" .. d.kind .. ":_files"))
      local rep = d.kind == "list" and "*" or ""
      if d.short then
        local excl = rep == "" and ("(-" .. d.short .. " --" .. d.long .. ")") or "*"
        specs[#specs + 1] = ("%s{-%s,--%s}%s"):format(sq(excl), d.short, d.long, sq(tail))
      else
        specs[#specs + 1] = sq(rep .. "--" .. d.long .. (d.kind == "flag" and "" or "=") .. tail)
      end
    end
    local rest = "'*::arg:_files'"
    if #c.subs > 0 then
      local s = {}
      for _, x in ipairs(c.subs) do s[#s + 1] = x[1] end
      rest = "'1:command:(" .. table.concat(s, " ") .. ")' '*::arg:_files'"
    end
    cases[#cases + 1] = ("    %s) _arguments -s %s %s ;;"):format(c.name, table.concat(specs, " "), rest)
  end
  return ([[
#compdef luac-ctr
# zsh completion for luac-ctr (generated by tools/gencompletion.lua from scripts/*.lua)
_luac-ctr() {
  local -a cmds
  cmds=(
%s
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'luac-ctr command' cmds
    return
  fi
  local cmd=${words[2]}
  shift words
  (( CURRENT-- ))
  case $cmd in
%s
    *) _files ;;
  esac
}
_luac-ctr "$@"
]]):format(table.concat(descs, "\n"), table.concat(cases, "\n"))
end

-- roff text: backslashes, leading dots and quotes, hyphens
local function roff(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  return (s:gsub("^([.'])", "\\&%1"))
end

-- the placeholder of an option's value, by its ctr.cli kind
local KIND = { size = "SIZE", int = "N", duration = "DURATION" }

local function man(c)
  local t = {
    ('.TH "LUAC\\-CTR\\-%s" 1 "" "luac-ctr" "luac-ctr manual"'):format(roff(c.name:upper())),
    ".SH NAME", ("luac\\-ctr\\-%s \\- %s"):format(roff(c.name), roff(c.desc)),
    ".SH SYNOPSIS", ".B luac\\-ctr " .. roff(c.name), roff(c.usage:gsub("^[%w_-]+%s*", "")),
    ".SH DESCRIPTION",
  }
  local para, synopsis = false, {}
  for _, l in ipairs(c.text) do
    if l:match("^luac%-ctr ") then -- a synopsis line (subcommands have several)
      synopsis[#synopsis + 1] = roff(l)
    elseif l == "" then
      if para then t[#t + 1] = ".PP" end
      para = false
    else
      t[#t + 1] = roff(l)
      para = true
    end
  end
  if t[#t] == ".SH DESCRIPTION" then t[#t + 1] = roff(c.desc) end
  if #synopsis > 0 then t[5], t[6] = table.concat(synopsis, "\n.br\n"), nil; table.remove(t, 6) end
  if #c.subs > 0 then
    t[#t + 1] = ".SH COMMANDS"
    for _, s in ipairs(c.subs) do t[#t + 1] = ".TP"; t[#t + 1] = ".B " .. roff(s[1]); t[#t + 1] = roff(s[2]) end
  end
  t[#t + 1] = ".SH OPTIONS"
  for _, d in ipairs(c.defs) do
    t[#t + 1] = ".TP"
    local v = d.kind == "flag" and "" or (" \\fI" .. (KIND[d.kind] or "VALUE") .. "\\fR")
    t[#t + 1] = (d.short and ("\\fB\\-%s\\fR, "):format(roff(d.short)) or "") .. ("\\fB\\-\\-%s\\fR%s"):format(roff(d.long), v)
    t[#t + 1] = roff(d.desc) .. (d.kind == "list" and " (may be repeated)" or "")
  end
  t[#t + 1] = ".TP"
  t[#t + 1] = "\\fB\\-\\-help\\fR"
  t[#t + 1] = "Print usage"
  t[#t + 1] = ".SH SEE ALSO"
  t[#t + 1] = ".BR luac\\-ctr (1)"
  return table.concat(t, "\n") .. "\n"
end

local function overview(list)
  local t = { '.TH "LUAC\\-CTR" 1 "" "luac-ctr" "luac-ctr manual"', ".SH NAME",
    "luac\\-ctr \\- a Lua\\-scriptable Linux container toolkit", ".SH SYNOPSIS",
    ".B luac\\-ctr", "[\\fB\\-\\-root\\fR \\fIDIR\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]", ".SH COMMANDS" }
  for _, c in ipairs(list) do
    t[#t + 1] = ".TP"
    t[#t + 1] = ".BR luac\\-ctr\\-" .. roff(c.name) .. " (1)"
    t[#t + 1] = roff(c.desc)
  end
  return table.concat(t, "\n") .. "\n"
end

local list = commands()
write(outdir .. "/share/bash-completion/completions/luac-ctr", bash(list))
write(outdir .. "/share/zsh/site-functions/_luac-ctr", zsh(list))
write(outdir .. "/share/man/man1/luac-ctr.1", overview(list))
for _, c in ipairs(list) do write(outdir .. "/share/man/man1/luac-ctr-" .. c.name .. ".1", man(c)) end
