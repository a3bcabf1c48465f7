--- ctr.build.context: the build context's rules: .dockerignore patterns
-- (docker's: `#` comments, `!` exceptions, `*` `?` `[...]` within a path
-- segment, `**` across segments, a pattern that matches a directory
-- excludes what is below it, the last matching pattern wins), COPY source
-- globs (filepath.Match), lexical path cleaning (".." never above the
-- context), and the resolution of a source path component by component in
-- a tree (symlinks followed by hand: in the context one that leads out of
-- it is an error; in an image absolute links start from its root).
--
-- The functions that touch files take the tree's root path ("/ctx" inside
-- the copy helper of ctr.build.copy, which sees nothing else).
local core = require "ctr.core"
local errors = require "ctr.errors"

local M = {}

--- Split a slash path into its non-empty, non-"." segments.
function M.segments(p)
  local t = {}
  for s in p:gmatch("[^/]+") do
    if s ~= "." then t[#t + 1] = s end
  end
  return t
end

--- Clean a relative path lexically (docker's filepath.Clean of a path
-- under the root): "" for the root itself; nil, msg when ".." would climb
-- above the root.
function M.clean(p)
  local out = {}
  for _, s in ipairs(M.segments(p)) do
    if s == ".." then
      if #out == 0 then return nil, "the path " .. p .. " is outside the build context" end
      out[#out] = nil
    else
      out[#out + 1] = s
    end
  end
  return table.concat(out, "/")
end

-- ---- glob segments ----------------------------------------------------------

-- A glob character class "[...]" starting at i of g: Lua set, next index.
local function class(g, i)
  local j, set = i + 1, { "[" }
  if g:sub(j, j) == "!" or g:sub(j, j) == "^" then set[2] = "^"; j = j + 1 end
  while j <= #g and g:sub(j, j) ~= "]" do
    local ch = g:sub(j, j)
    if ch == "\\" and j < #g then j = j + 1; ch = g:sub(j, j) end
    if ch == "-" and #set > 1 and set[#set] ~= "^" then set[#set + 1] = "-" else set[#set + 1] = "%" .. ch end
    if ch:match("%w") then set[#set] = ch end
    j = j + 1
  end
  if j > #g then errors.throw("invalid", "bad pattern %q: unterminated [", g) end
  set[#set + 1] = "]"
  return table.concat(set), j + 1
end

--- A glob segment ("*.txt", "a?c", "[a-c]x", "\\*") as an anchored Lua pattern.
function M.glob_pattern(g)
  local out, i = { "^" }, 1
  while i <= #g do
    local ch = g:sub(i, i)
    if ch == "*" then out[#out + 1] = ".*"; i = i + 1
    elseif ch == "?" then out[#out + 1] = "."; i = i + 1
    elseif ch == "[" then out[#out + 1], i = class(g, i)
    elseif ch == "\\" and i < #g then out[#out + 1] = "%" .. g:sub(i + 1, i + 1); i = i + 2
    else
      out[#out + 1] = ch:match("%w") and ch or "%" .. ch
      i = i + 1
    end
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

--- Whether s has glob characters.
function M.has_glob(s) return s:find("[%*%?%[]") ~= nil end

-- pattern segments ps (compiled; "**" kept) against path segments xs
local function match_segs(ps, pi, xs, xi)
  if pi > #ps then return xi > #xs end
  if ps[pi] == "**" then
    for k = xi, #xs + 1 do
      if match_segs(ps, pi + 1, xs, k) then return true end
    end
    return false
  end
  return xi <= #xs and xs[xi]:match(ps[pi]) ~= nil and match_segs(ps, pi + 1, xs, xi + 1)
end

-- ---- .dockerignore ----------------------------------------------------------

--- Compile .dockerignore text: a list of { segs =, exclude = bool (a `!`
-- exception), text = }.
function M.ignore_patterns(text)
  local list = {}
  for line in (text or ""):gmatch("[^\n]+") do
    local l = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
    if l ~= "" and not l:match("^#") then
      local exclude = l:sub(1, 1) == "!"
      if exclude then l = l:sub(2):match("^%s*(.-)$") end
      local segs = {}
      for _, s in ipairs(M.segments(l)) do
        segs[#segs + 1] = s == "**" and "**" or M.glob_pattern(s)
      end
      if #segs > 0 then list[#list + 1] = { segs = segs, exclude = exclude, text = l } end
    end
  end
  return list
end

--- Whether the context-relative path rel is excluded by the patterns (the
-- last pattern matching it or one of its parent directories decides).
function M.ignored(patterns, rel)
  local xs = M.segments(rel)
  local out = false
  for _, p in ipairs(patterns) do
    local hit = false
    for n = #xs, 1, -1 do
      local sub = table.move(xs, 1, n, 1, {})
      if match_segs(p.segs, 1, sub, 1) then hit = true; break end
    end
    if hit then out = not p.exclude end
  end
  return out
end

--- Whether the excluded directory rel may hold paths that a `!` exception
-- re-includes (then it must still be walked): an exception starting with
-- `**` or with rel's segments.
function M.may_reinclude(patterns, rel)
  local xs = M.segments(rel)
  for _, p in ipairs(patterns) do
    if p.exclude and #p.segs > #xs then
      local prefix = true
      for i = 1, #xs do
        if p.segs[i] == "**" then break end
        if not xs[i]:match(p.segs[i]) then prefix = false; break end
      end
      if prefix then return true end
    end
  end
  return false
end

-- ---- resolution in a tree -------------------------------------------------

--- Resolve rel (cleaned, relative) in the tree at root, following every
-- symlink by hand. in_image: absolute links start at root and ".." stops
-- there (an image's tree); else (the build context) a link that is
-- absolute or climbs out is an error. nofollow: the last component is not
-- followed. Returns the resolved relative path and its lstat, or nil,
-- "not found" when a component is missing (partial: the path it would have,
-- the rest taken lexically after the missing component, and no lstat: where
-- a COPY onto a dangling link of the image creates it); raises on an escape.
function M.resolve(root, rel, in_image, nofollow, partial)
  local todo, cur, links = M.segments(rel), {}, 0
  local shown = rel
  while #todo > 0 do
    local comp = table.remove(todo, 1)
    if comp == ".." then
      if #cur == 0 and not in_image then
        errors.throw("invalid", "%s: a symlink leads outside the build context", shown)
      end
      cur[#cur] = nil
    else
      cur[#cur + 1] = comp
      local path = root .. "/" .. table.concat(cur, "/")
      local st = core.lstat(path)
      if not st and partial then
        for _, c in ipairs(todo) do
          if c == ".." then cur[#cur] = nil else cur[#cur + 1] = c end
        end
        return table.concat(cur, "/"), nil
      end
      if not st then return nil, "not found" end
      if st.type == "link" and (#todo > 0 or not nofollow) then
        links = links + 1
        if links > 40 then errors.throw("invalid", "%s: too many levels of symbolic links", shown) end
        local target = core.readlink(path) or ""
        cur[#cur] = nil
        if target:sub(1, 1) == "/" then
          if not in_image then
            errors.throw("invalid", "%s: the symlink %s points outside the build context (%s)", shown,
              table.concat(cur, "/") .. (#cur > 0 and "/" or "") .. comp, target)
          end
          cur = {}
        end
        local tsegs = M.segments(target)
        todo = table.move(todo, 1, #todo, #tsegs + 1, tsegs) -- the target's segments, then the rest
      end
    end
  end
  local r = table.concat(cur, "/")
  local st = core.lstat(root .. (r ~= "" and "/" .. r or ""))
  if not st then return nil, "not found" end
  return r, st
end

--- The paths (relative, sorted) under root matching the cleaned glob g,
-- segment by segment (only the segments with glob characters are listed).
function M.glob(root, g, in_image)
  local found = { "" }
  for _, seg in ipairs(M.segments(g)) do
    local nxt = {}
    for _, base in ipairs(found) do
      local prefix = base == "" and "" or base .. "/"
      if M.has_glob(seg) then
        local rb = M.resolve(root, base, in_image)
        local names = rb and core.readdir(root .. (rb ~= "" and "/" .. rb or "")) or {}
        table.sort(names)
        local pat = M.glob_pattern(seg)
        for _, n in ipairs(names) do
          if n:match(pat) then nxt[#nxt + 1] = prefix .. n end
        end
      else
        nxt[#nxt + 1] = prefix .. seg
      end
    end
    found = nxt
  end
  return found
end

return M
