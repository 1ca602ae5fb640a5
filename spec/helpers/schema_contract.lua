-- A plugin schema's interface as text: every attribute of every field and entity check, as
-- Kong 3.9.3's schema library holds them once the plugin loader has made the schema a
-- subschema of the plugins entity (after Kong's own deep copy and typedef expansion). The
-- specs compare it with the committed dump in spec/fixtures/schema/<plugin>.dump, so moving
-- a field definition to another module, or changing one by accident, cannot go unnoticed:
--
--   local contract = require "spec.helpers.schema_contract"
--   contract.dump(schema)                  -> the text
--   contract.expected("upstream-jwt")      -> the committed text
--
-- One line per value: `<path> = <value>`. Field order is part of the interface (Kong's Admin
-- API and decK write the fields in it), so each `fields` list gets an order line
-- (`config.fields = algorithm, secret, ...`) and its fields are then listed by name.
-- Functions (custom validators, entity check functions) print as <function>: what they do is
-- pinned by the refused configurations and their exact messages, not by their identity.
--
-- To regenerate a dump after an intended interface change, review the diff this prints:
--   dev/busted --script spec/helpers/schema_contract.lua upstream-jwt > spec/fixtures/schema/upstream-jwt.dump
local setup = require "spec.helpers.setup"
local config = require "gateway.config"

local null = ngx.null

local M = {}

local function render(v)
  if v == null then
    return "null"
  end
  local t = type(v)
  if t == "string" then
    return (("%q"):format(v):gsub("\\\n", "\\n"))
  elseif t == "function" then
    return "<function>"
  end
  return tostring(v)
end

-- Numbers first in order, then names alphabetically: stable whatever the hash order.
local function sorted_keys(tbl)
  local keys = {}
  for k in pairs(tbl) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then
      return ta == "number"
    end
    return a < b
  end)
  return keys
end

local emit

-- A `fields` list: Schema.new also stores each field under its name in the same table, so
-- only the array part is the definition.
local function emit_fields(list, path, out)
  local names = {}
  for i, entry in ipairs(list) do
    local name, def = next(entry)
    assert(next(entry, name) == nil, path .. ".fields[" .. i .. "] names more than one field")
    names[i] = name
  end
  out[#out + 1] = (path == "" and "" or path .. ".") .. "fields = " .. table.concat(names, ", ")
  for i, entry in ipairs(list) do
    emit(entry[names[i]], path == "" and names[i] or path .. "." .. names[i], out)
  end
end

function emit(v, path, out, seen)
  if type(v) ~= "table" or v == null then
    out[#out + 1] = path .. " = " .. render(v)
    return
  end
  seen = seen or {}
  assert(not seen[v], "cycle at " .. path)
  seen[v] = true
  if next(v) == nil then
    out[#out + 1] = path .. " = {}"
  end
  for _, k in ipairs(sorted_keys(v)) do
    if k == "fields" and type(v[k]) == "table" then
      emit_fields(v[k], path, out)
    elseif k == "schema" and v.type == "foreign" then
      -- Kong's own entity (consumers): its definition is Kong's interface, not the plugin's.
      out[#out + 1] = path .. ".schema = <entity " .. tostring(v[k].name) .. ">"
    else
      local sub = type(k) == "number" and ("[" .. k .. "]") or ("." .. k)
      emit(v[k], (path == "" and sub:gsub("^%.", "") or path .. sub), out, seen)
    end
  end
  seen[v] = nil
end

-- The subschema Kong's plugin loader builds from a plugin's schema module.
function M.loaded(schema_def)
  local plugins = config.schema("plugins")
  assert(plugins:new_subschema(schema_def.name, schema_def))
  return assert(plugins.subschemas[schema_def.name])
end

function M.dump(schema_def)
  local sub = M.loaded(schema_def)
  local out = {}
  out[#out + 1] = "name = " .. render(sub.name)
  emit_fields(sub.fields, "", out)
  emit(sub.entity_checks or {}, "entity_checks", out)
  return table.concat(out, "\n") .. "\n"
end

-- A copy of base with the fields of over set on it: a case as "the base, but ...".
function M.merge(base, over)
  local c = {}
  for k, v in pairs(base) do
    c[k] = v
  end
  for k, v in pairs(over) do
    c[k] = v
  end
  return c
end

function M.fixture(name)
  return setup.root .. "/spec/fixtures/schema/" .. name .. ".dump"
end

function M.expected(name)
  return setup.read_file(M.fixture(name))
end

-- Specs for one plugin: the dump equals the committed one, each accepted configuration
-- comes out of Kong's defaults exactly as given, and each refused configuration gives
-- exactly its message. cases.refused: { { what, config, message [, extra entity fields] } };
-- cases.accepted: { { what, config, normalized config } }. describe and it are busted's,
-- which exist only in the spec file's environment.
function M.describe(describe, it, schema_def, cases)
  local validator = require "spec.helpers.schema"
  local assert = require "luassert"

  describe(schema_def.name .. " schema contract", function()
    it("fields and entity checks are exactly the committed dump", function()
      local actual = M.dump(schema_def)
      local expected = M.expected(schema_def.name)
      if actual ~= expected then
        local path = os.tmpname()
        setup.write_file(path, actual)
        local a, e = actual:gmatch("[^\n]*\n"), expected:gmatch("[^\n]*\n")
        local line, la, le = 0
        repeat
          line, la, le = line + 1, a(), e()
        until la ~= le
        error(("schema of %s differs from %s at line %d:\n  expected: %s  actual:   %s"
               .. "(the whole dump is in %s)")
              :format(schema_def.name, M.fixture(schema_def.name), line, tostring(le),
                      tostring(la), path), 0)
      end
    end)

    it("is accepted by Kong's plugin loader (MetaSubSchema)", function()
      assert(validator.check_schema(schema_def))
    end)

    for _, case in ipairs(cases.accepted or {}) do
      it("accepts " .. case[1], function()
        local conf, _, msg = validator.validate(schema_def, case[2])
        assert.is_nil(msg)
        assert.same(case[3], conf)
      end)
    end

    for _, case in ipairs(cases.refused) do
      it("refuses " .. case[1], function()
        local conf, _, msg = validator.validate(schema_def, case[2], case[4])
        assert.is_nil(conf, "config was accepted")
        assert.equal(case[3], msg)
      end)
    end
  end)
end

-- dev/busted --script spec/helpers/schema_contract.lua <plugin>: print the dump.
if arg and arg[0] and arg[0]:find("schema_contract%.lua$") and arg[1] then
  io.write(M.dump(require("kong.plugins." .. arg[1] .. ".schema")))
end

return M
