-- format_spec: docker's Go-template forms in ctr.format / ctr.template
-- (issue 13): json, index (of an index), range (lists, $k, $v := maps,
-- else), join, upper/lower, len, printf, if/else if/else, with, variables,
-- pipes, trim markers, the table directive with its header, and docker's
-- one-line template errors.
local format = require "ctr.format"
local json = require "ctr.json"
local errors = require "ctr.errors"

local V = {
  Name = "/web", Id = "abc",
  State = { Status = "running", Pid = 42, Running = true, ExitCode = 0 },
  Config = { Env = json.array({ "A=1", "B=2" }), Labels = json.object({ b = "2", a = "1" }), Entrypoint = json.null,
             Cmd = json.array({ "sh", "-c", "x" }) },
  NetworkSettings = { Networks = { bridge = { IPAddress = "172.17.0.2" } }, Ports = json.object({}) },
  Args = json.array({ "x", "y" }),
}

local function x(t, opts) return format.compile(t, opts)(V) end

-- the message and exit code a call raises
local function raised(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return errors.message(e), errors.code(e)
end

describe("ctr.format templates", function()
  it("fields, json, index and index of an index, (pipe).Field", function()
    assert.are.equal("/web running 42", x("{{.Name}} {{ .State.Status }} {{.State.Pid}}"))
    assert.are.equal('["A=1","B=2"]', x("{{json .Config.Env}}"))
    assert.are.equal('{"a":"1","b":"2"}', x("{{json .Config.Labels}}"))
    assert.are.equal("1", x('{{index .Config.Labels "a"}}'))
    assert.are.equal("y", x("{{index .Args 1}}")) -- Go's indexes count from 0
    assert.are.equal("172.17.0.2", x('{{index (index .NetworkSettings.Networks "bridge") "IPAddress"}}'))
    assert.are.equal("172.17.0.2", x('{{(index .NetworkSettings.Networks "bridge").IPAddress}}'))
    assert.are.equal('{"IPAddress":"172.17.0.2"}', x('{{index .NetworkSettings.Networks "bridge" | json}}'))
    assert.are.equal("null", x("{{json .Config.Entrypoint}}"))
  end)

  it("range over lists and maps (sorted keys), with variables and else", function()
    assert.are.equal("[A=1][B=2]", x("{{range .Config.Env}}[{{.}}]{{end}}"))
    assert.are.equal("a=1;b=2;", x("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"))
    assert.are.equal("0:x 1:y ", x("{{range $i, $e := .Args}}{{$i}}:{{$e}} {{end}}"))
    assert.are.equal("172.17.0.2", x("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"))
    assert.are.equal("none", x("{{range .NetworkSettings.Ports}}p{{else}}none{{end}}"))
    assert.are.equal("/web:x /web:y ", x("{{range .Args}}{{$.Name}}:{{.}} {{end}}"))
  end)

  it("join, upper, lower, title, len, split, printf, print", function()
    assert.are.equal("A=1,B=2", x('{{join .Config.Env ","}}'))
    assert.are.equal("/WEB abc /WEB", x('{{upper .Name}} {{lower "ABC"}} {{.Name | upper}}'))
    assert.are.equal("2 4 3", x("{{len .Config.Env}} {{len .Name}} {{len .Config.Cmd}}"))
    assert.are.equal('/web-42-    x|"/web"', x('{{printf "%s-%d-%5s|%q" .Name .State.Pid "x" .Name}}'))
    assert.are.equal("b", x('{{index (split "a,b" ",") 1}}'))
    assert.are.equal("Hello World", x('{{title "hello world"}}'))
    assert.are.equal("ab", x('{{truncate "abc" 2}}'))
  end)

  it("if / else if / else, with, comparisons, variables, trim markers, comments", function()
    assert.are.equal("up", x("{{if .State.Running}}up{{else}}down{{end}}"))
    assert.are.equal("elif", x("{{if .State.ExitCode}}a{{else if .State.Running}}elif{{else}}c{{end}}"))
    assert.are.equal("zero", x("{{if eq .State.ExitCode 0}}zero{{end}}"))
    assert.are.equal("yes", x('{{if and .State.Running (ne .Name "/db")}}yes{{end}}'))
    assert.are.equal("running", x("{{with .State}}{{.Status}}{{end}}"))
    assert.are.equal("/web", x("{{$n := .Name}}{{$n}}"))
    assert.are.equal("/webx", x("{{- .Name -}}  x"))
    assert.are.equal("ok", x("{{/* a comment */}}ok"))
  end)

  it("the table directive: a header from the fields' titles, aligned columns", function()
    local rows = { { ID = "1", Names = "web" }, { ID = "22", Names = "database" } }
    local out = format.render("table {{.ID}}\\t{{.Names}}", rows, { ID = "CONTAINER ID", Names = "NAMES" })
    assert.are.equal("CONTAINER ID   NAMES\n1              web\n22             database\n", out)
    assert.are.equal("1 web\n22 database\n", format.render("{{.ID}} {{.Names}}", rows, {}))
  end)

  it("docker's errors: one line, exit 1", function()
    local cases = {
      { "{{.Bogus", nil, "template parsing error: template: :1: unclosed action" },
      { "a\n{{.Name", nil, "template parsing error: template: :2: unclosed action" },
      { "{{range .Args}}", nil, "template parsing error: template: :1: unexpected EOF" },
      { "{{end}}", nil, "template parsing error: template: :1: unexpected {{end}}" },
      { "{{foo .Name}}", nil, 'template parsing error: template: :1: function "foo" not defined' },
      { "{{.Bogus}}", { missing = "error" },
        'template parsing error: template: :1:2: executing "" at <.Bogus>: map has no entry for key "Bogus"' },
      { "{{.Name.X}}", nil, 'template: :1:2: executing "" at <.Name.X>: can\'t evaluate field X in type string' },
      { "{{index .Args 5}}", nil, 'template: :1:2: executing "" at <index>: error calling index: index out of range: 5' },
      { "x {{.Foo}}", { fields = { Name = true }, context = "*formatter.ContainerContext" },
        'template: :1:4: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext' },
    }
    for _, c in ipairs(cases) do
      local msg, code = raised(x, c[1], c[2])
      assert.are.equal(c[3], msg, c[1])
      assert.are.equal(1, code)
      assert.is_nil(msg:find("\n"))
    end
    assert.are.equal("<no value>", x("{{.Nope}}"))
  end)
end)
