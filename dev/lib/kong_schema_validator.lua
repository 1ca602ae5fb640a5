-- Validates a plugin's `config` against its Kong schema (Kong 3.x DSL) outside
-- Kong: the local gateway calls it at start so a bad kong.yml fails the way
-- Kong would fail it, and the unit specs use it to prove schema.lua.
--
--   local validator = require "kong_schema_validator"
--   local conf, err_tbl, err_msg = validator.validate(schema, config_table)
--
-- On success `conf` is a new table with defaults filled in and unset optional
-- fields absent (as a handler sees them in Kong). On failure `err_tbl` is shaped
-- like Kong's: `{ config = { field = "message", ["@entity"] = {...} },
-- ["@entity"] = { "..." } }`, and `err_msg` flattens it into one line.
--
-- Semantics follow kong/db/schema/init.lua (messages, validator order, empty
-- strings refused unless len_min says otherwise, vault references skipping
-- validators, entity checks seeing `null` for unset fields). The input table is
-- never modified.

local typedefs_ok, typedefs = pcall(require, "kong.db.schema.typedefs")

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local floor = math.floor
local concat = table.concat
local insert = table.insert
local sort = table.sort
local find = string.find
local sub = string.sub
local byte = string.byte

-- Must be the same marker the typedefs use in `eq = null`, or no_consumer
-- would not be recognised.
local null
if ngx and ngx.null then
  null = ngx.null
elseif typedefs_ok then
  null = rawget(typedefs, "no_consumer") and rawget(typedefs, "no_consumer").eq
end
null = null or setmetatable({}, { __tostring = function() return "null" end })

local M = { null = null }

local E = {
  ARRAY = "expected an array",
  SET = "expected a set",
  MAP = "expected a map",
  RECORD = "expected a record",
  STRING = "expected a string",
  NUMBER = "expected a number",
  BOOLEAN = "expected a boolean",
  INTEGER = "expected an integer",
  FUNCTION = "expected a function",
  EQ = "value must be %s",
  NE = "value must not be %s",
  GT = "value must be greater than %s",
  BETWEEN = "value should be between %d and %d",
  LEN_EQ = "length must be %d",
  LEN_MIN = "length must be at least %d",
  LEN_MAX = "length must be at most %d",
  MATCH = "invalid value: %s",
  NOT_MATCH = "invalid value: %s",
  STARTS_WITH = "should start with: %s",
  CONTAINS = "expected to contain: %s",
  ONE_OF = "expected one of: %s",
  NOT_ONE_OF = "must not be one of: %s",
  UUID = "expected a valid UUID",
  VALIDATION = "failed validating: %s",
  REQUIRED = "required field missing",
  UNKNOWN = "unknown field",
  SCHEMA_TYPE = "invalid type: %s",
  REQUIRED_FOR_ENTITY_CHECK = "field required for entity check",
  ENTITY_CHECK = "failed entity check: %s",
  CONDITIONAL = "failed conditional validation given value of field '%s'",
  AT_LEAST_ONE_OF = "at least one of these fields must be non-empty: %s",
  CONDITIONAL_AT_LEAST_ONE_OF = "at least one of these fields must be non-empty: %s",
  ONLY_ONE_OF = "only one of these fields must be non-empty: %s",
  DISTINCT = "values of these fields must be distinct: %s",
  MUTUALLY_REQUIRED = "all or none of these fields must be set: %s",
  MUTUALLY_EXCLUSIVE = "only one or none of these fields must be set: %s",
}
M.messages = E

-- Kong's kong.vault.is_reference: "{vault://...}".
local function is_reference(v)
  return type(v) == "string" and byte(v, 1) == 123 and byte(v, -1) == 125
     and sub(v, 2, 8) == "vault:/"
end
M.is_reference = is_reference

local function is_nonempty(v)
  return not (v == nil or v == null
              or (type(v) == "table" and next(v) == nil)
              or v == "")
end

local function is_sequence(t)
  if type(t) ~= "table" then
    return false
  end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or floor(k) ~= k then
      return false
    end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then
      return false
    end
  end
  return true
end

local function deepcopy(v)
  if type(v) ~= "table" or v == null then
    return v
  end
  local out = {}
  for k, x in pairs(v) do
    out[k] = deepcopy(x)
  end
  return out
end

local function quoted_list(words)
  local out = {}
  for _, w in ipairs(words) do
    if type(w) == "table" then
      out[#out + 1] = "(" .. quoted_list(w) .. ")"
    else
      out[#out + 1] = "'" .. tostring(w) .. "'"
    end
  end
  return concat(out, ", ")
end

-- "a.b.c" access on entities and on error tables.
local function get_path(tbl, name)
  if tbl == nil or tbl == null or type(tbl) ~= "table" then
    return nil
  end
  local dot = find(name, ".", 1, true)
  if not dot then
    return tbl[name]
  end
  return get_path(tbl[sub(name, 1, dot - 1)], sub(name, dot + 1))
end

local function set_path(tbl, name, value)
  local dot = find(name, ".", 1, true)
  if not dot then
    tbl[name] = value
    return
  end
  local hd = sub(name, 1, dot - 1)
  local t = tbl[hd]
  if type(t) ~= "table" then
    t = {}
    tbl[hd] = t
  end
  set_path(t, sub(name, dot + 1), value)
end

-- Field definitions are `{ { name = def }, ... }`; index them by name without
-- touching the caller's schema table.
local index_cache = setmetatable({}, { __mode = "k" })

local function field_index(record)
  local idx = index_cache[record]
  if idx then
    return idx
  end
  idx = { order = {}, by_name = {} }
  for _, item in ipairs(record.fields or {}) do
    local name, def = next(item)
    idx.order[#idx.order + 1] = name
    idx.by_name[name] = def
  end
  index_cache[record] = idx
  return idx
end

local function get_schema_field(record, name)
  if record == nil or record.fields == nil then
    return nil
  end
  local dot = find(name, ".", 1, true)
  local by_name = field_index(record).by_name
  if not dot then
    return by_name[name]
  end
  return get_schema_field(by_name[sub(name, 1, dot - 1)], sub(name, dot + 1))
end

-- A field definition with overrides, for conditional `if_match`/`then_match`
-- (Kong gives them the checked field's definition through __index).
local function overlay(base, over)
  local out = {}
  for k, v in pairs(base or {}) do
    out[k] = v
  end
  for k, v in pairs(over) do
    out[k] = v
  end
  return out
end

local function length_of(value, field)
  local len = type(value) == "string" and #value or 0
  if type(value) == "table" then
    if field.type == "map" then
      for _ in pairs(value) do
        len = len + 1
      end
    else
      len = #value
    end
  end
  return len
end

local validators = {
  eq = function(v, want)
    if v == want then return true end
    return nil, E.EQ:format(want == null and "null" or tostring(want))
  end,
  ne = function(v, bad)
    if v ~= bad then return true end
    return nil, E.NE:format(tostring(v))
  end,
  not_one_of = function(v, opts)
    for _, o in ipairs(opts) do
      if v == o then
        return nil, E.NOT_ONE_OF:format(concat(opts, ", "))
      end
    end
    return true
  end,
  one_of = function(v, opts)
    for _, o in ipairs(opts) do
      if v == o then return true end
    end
    local names = {}
    for i, o in ipairs(opts) do names[i] = tostring(o) end
    return nil, E.ONE_OF:format(concat(names, ", "))
  end,
  gt = function(v, limit)
    if v > limit then return true end
    return nil, E.GT:format(tostring(limit))
  end,
  uuid = function(v)
    if #v == 36 and v:lower():match(
      "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") then
      return true
    end
    return nil, E.UUID
  end,
  between = function(v, lim)
    if v < lim[1] or v > lim[2] then
      return nil, E.BETWEEN:format(lim[1], lim[2])
    end
    return true
  end,
  len_eq = function(v, n, f)
    if length_of(v, f) == n then return true end
    return nil, E.LEN_EQ:format(n)
  end,
  len_min = function(v, n, f)
    if length_of(v, f) >= n then return true end
    return nil, E.LEN_MIN:format(n)
  end,
  len_max = function(v, n, f)
    if length_of(v, f) <= n then return true end
    return nil, E.LEN_MAX:format(n)
  end,
  starts_with = function(v, prefix)
    if sub(v, 1, #prefix) == prefix then return true end
    return nil, E.STARTS_WITH:format(prefix)
  end,
  not_match = function(v, pat)
    if not v:match(pat) then return true end
    return nil, E.NOT_MATCH:format(v)
  end,
  match_none = function(v, list)
    for _, m in ipairs(list) do
      if v:match(m.pattern) then return nil, m.err end
    end
    return true
  end,
  match = function(v, pat)
    if v:match(pat) then return true end
    return nil, E.MATCH:format(v)
  end,
  match_all = function(v, list)
    for _, m in ipairs(list) do
      if not v:match(m.pattern) then return nil, m.err end
    end
    return true
  end,
  match_any = function(v, arg)
    for _, p in ipairs(arg.patterns) do
      if v:match(p) then return true end
    end
    return nil, arg.err
  end,
  contains = function(arr, want)
    for _, x in ipairs(arr) do
      if x == want then return true end
    end
    return nil, E.CONTAINS:format(tostring(want))
  end,
  custom_validator = function(v, fn)
    return fn(v)
  end,
}

local validators_order = {
  "eq", "ne", "not_one_of", "one_of", "gt", "uuid", "between",
  "len_eq", "len_min", "len_max", "starts_with", "not_match", "match_none",
  "match", "match_all", "match_any", "contains", "custom_validator",
}

local validate_value, validate_record

-- Fills defaults the way Kong's process_auto_fields does on insert: a missing
-- field takes its default, else null when optional; records recurse.
local function process(field, value)
  if value == nil then
    if field.default ~= nil then
      return deepcopy(field.default)
    end
    if field.type == "record" and field.required then
      value = {}
    elseif field.required then
      return nil
    else
      return null
    end
  end
  if field.type == "record" and type(value) == "table" and value ~= null then
    local out = {}
    for k, v in pairs(value) do
      out[k] = v
    end
    local idx = field_index(field)
    for _, name in ipairs(idx.order) do
      out[name] = process(idx.by_name[name], out[name])
    end
    return out
  end
  return value
end

validate_value = function(field, value)
  if value == null or value == nil then
    if field.ne == null then
      return nil, field.err or E.NE:format("null")
    end
    if field.eq ~= nil and field.eq ~= null then
      return nil, E.EQ:format(tostring(field.eq))
    end
    if field.required then
      return nil, E.REQUIRED
    end
    return true
  end

  if field.eq == null then
    return nil, field.err or E.EQ:format("null")
  end

  local t = field.type
  local len_min = field.len_min
  if t == "array" or t == "set" then
    if not is_sequence(value) then
      return nil, t == "set" and E.SET or E.ARRAY
    end
    local errs
    local elem = overlay(field.elements, { required = true })
    for i, v in ipairs(value) do
      local ok, err = validate_value(elem, v)
      if not ok then
        errs = errs or {}
        errs[i] = err
      end
    end
    if errs then
      return nil, errs
    end
  elseif t == "map" then
    if type(value) ~= "table" then
      return nil, E.MAP
    end
    local kf = overlay(field.keys, { required = true })
    local vf = overlay(field.values, { required = true })
    for k, v in pairs(value) do
      local ok, err = validate_value(kf, k)
      if not ok then
        return nil, err
      end
      ok, err = validate_value(vf, v)
      if not ok then
        return nil, err
      end
    end
  elseif t == "record" then
    if type(value) ~= "table" then
      return nil, E.RECORD
    end
    local errs = validate_record(field, process(field, value))
    if errs then
      return nil, errs
    end
  elseif t == "integer" then
    if not (type(value) == "number" and value == floor(value)
            and value ~= 1 / 0 and value ~= -1 / 0) then
      return nil, E.INTEGER
    end
  elseif t == "number" then
    if type(value) ~= "number" then
      return nil, E.NUMBER
    end
  elseif t == "boolean" then
    if type(value) ~= "boolean" then
      return nil, E.BOOLEAN
    end
  elseif t == "string" then
    if type(value) ~= "string" then
      return nil, E.STRING
    end
    -- Kong refuses empty strings unless the field says otherwise.
    len_min = len_min or 1
    if field.referenceable and is_reference(value) then
      return true
    end
  elseif t == "function" then
    if type(value) ~= "function" then
      return nil, E.FUNCTION
    end
  elseif t == "foreign" then
    -- Only ever used here as `no_consumer` and friends (eq = null), handled above.
    return true
  else
    return nil, E.SCHEMA_TYPE:format(tostring(t))
  end

  for _, name in ipairs(validators_order) do
    local arg = field[name]
    if name == "len_min" then
      arg = len_min
    end
    if arg ~= nil then
      local ok, err = validators[name](value, arg, field)
      if not ok then
        if not err then
          err = (E[name:upper()] or E.VALIDATION):format(tostring(value))
        end
        return nil, field.err or err
      end
    end
  end
  return true
end

-------------------------------------------------------------------------------
-- Entity checks (kong/db/schema/init.lua `Schema.entity_checkers`)
-------------------------------------------------------------------------------

local checkers = {}

-- How many of the named fields hold a value.
local function count_present(entity, names)
  local count = 0
  for _, n in ipairs(names) do
    if is_nonempty(get_path(entity, n)) then count = count + 1 end
  end
  return count
end

checkers.at_least_one_of = {
  run_with_missing_fields = true,
  run_with_invalid_fields = true,
  fn = function(entity, names)
    for _, n in ipairs(names) do
      if is_nonempty(get_path(entity, n)) then return true end
    end
    return nil, quoted_list(names)
  end,
}

checkers.only_one_of = {
  run_with_missing_fields = false,
  run_with_invalid_fields = true,
  fn = function(entity, names)
    local count = count_present(entity, names)
    if count == 1 then return true end
    return nil, quoted_list(names)
  end,
}

checkers.mutually_exclusive = {
  run_with_missing_fields = true,
  fn = function(entity, names)
    local count = count_present(entity, names)
    if count <= 1 then return true end
    return nil, quoted_list(names)
  end,
}

checkers.mutually_required = {
  run_with_missing_fields = true,
  fn = function(entity, names)
    local count = count_present(entity, names)
    if count == 0 or count == #names then return true end
    return nil, quoted_list(names)
  end,
}

checkers.distinct = {
  run_with_missing_fields = false,
  run_with_invalid_fields = true,
  fn = function(entity, names)
    local seen = {}
    for _, n in ipairs(names) do
      local v = get_path(entity, n)
      if is_nonempty(v) then
        if seen[v] then return nil, quoted_list(names) end
        seen[v] = true
      end
    end
    return true
  end,
}

checkers.conditional = {
  run_with_missing_fields = false,
  run_with_invalid_fields = true,
  field_sources = { "if_field", "then_field" },
  required_fields = { if_field = true },
  fn = function(entity, arg, schema, errors)
    local if_value = get_path(entity, arg.if_field)
    local then_value = get_path(entity, arg.then_field)
    if then_value == nil then
      then_value = null
    end
    local if_def = overlay(get_schema_field(schema, arg.if_field), arg.if_match)
    if not validate_value(if_def, if_value) then
      return true
    end
    if arg.then_match.required == true and then_value == null then
      set_path(errors, arg.then_field, E.REQUIRED)
      return nil, arg.if_field
    end
    local then_def = overlay(get_schema_field(schema, arg.then_field), arg.then_match)
    local ok, err = validate_value(then_def, then_value)
    if not ok then
      set_path(errors, arg.then_field, err)
      return nil, arg.if_field, arg.then_err and arg.then_err:format(arg.if_field)
    end
    return true
  end,
}

checkers.conditional_at_least_one_of = {
  run_with_missing_fields = true,
  run_with_invalid_fields = true,
  field_sources = { "if_field", "then_at_least_one_of", "else_then_at_least_one_of" },
  required_fields = { if_field = true },
  fn = function(entity, arg, schema)
    local if_value = get_path(entity, arg.if_field)
    if if_value == nil then
      return true
    end
    local def = get_schema_field(schema, arg.if_field)
    local list, custom
    if validate_value(overlay(def, arg.if_match), if_value) then
      list = arg.then_at_least_one_of
      custom = arg.then_err
    else
      if arg.else_match == nil
         or not validate_value(overlay(def, arg.else_match), if_value) then
        return true
      end
      list = arg.else_then_at_least_one_of
      custom = arg.else_then_err
    end
    for _, n in ipairs(list) do
      if is_nonempty(get_path(entity, n)) then return true end
    end
    local q = quoted_list(list)
    return nil, q, custom and custom:format(q)
  end,
}

checkers.custom_entity_check = {
  run_with_missing_fields = false,
  run_with_invalid_fields = false,
  field_sources = { "field_sources" },
  required_fields = { field_sources = true },
  fn = function(entity, arg)
    return arg.fn(entity)
  end,
}

local function insert_entity_error(errors, msg)
  errors["@entity"] = errors["@entity"] or {}
  insert(errors["@entity"], msg)
end

local function run_entity_check(schema, name, entity, arg, errors)
  local checker = checkers[name]
  if not checker then
    insert_entity_error(errors, "unsupported entity check: " .. tostring(name))
    return
  end

  local names, required = {}, {}
  if checker.field_sources then
    for _, source in ipairs(checker.field_sources) do
      local v = arg[source]
      local list = type(v) == "string" and { v } or (type(v) == "table" and v or {})
      for _, fname in ipairs(list) do
        names[#names + 1] = fname
        if checker.required_fields[source] then
          required[fname] = true
        end
      end
    end
  else
    for _, fname in ipairs(arg) do
      names[#names + 1] = fname
      required[fname] = true
    end
  end

  local projection, missing = {}, nil
  local all_nil, all_ok = true, true
  for _, fname in ipairs(names) do
    local v = get_path(entity, fname)
    if v == nil then
      if not checker.run_with_missing_fields and required[fname] then
        missing = missing or {}
        missing[#missing + 1] = fname
      end
    else
      all_nil = false
    end
    -- Kong looks errors up by the flat name only; looking through nested error
    -- tables too keeps a check from ever seeing a value of the wrong type.
    if errors[fname] ~= nil or get_path(errors, fname) ~= nil then
      all_ok = false
    end
    if v ~= nil then
      set_path(projection, fname, v)
    end
  end

  if not all_ok and not checker.run_with_invalid_fields then
    return
  end
  if all_nil and not checker.run_with_missing_fields then
    return
  end
  if missing then
    for _, fname in ipairs(missing) do
      set_path(errors, fname, E.REQUIRED_FOR_ENTITY_CHECK)
    end
    return
  end

  local ok, err, custom = checker.fn(projection, arg, schema, errors)
  if ok then
    return
  end
  if custom then
    insert_entity_error(errors, custom)
    return
  end
  local fmt = E[name:upper()]
  if fmt and err then
    err = fmt:format(err)
  end
  insert_entity_error(errors, err or E.ENTITY_CHECK:format(name))
end

local function run_entity_checks(schema, entity, errors)
  for _, check in ipairs(schema.entity_checks or {}) do
    local name, arg = next(check)
    if arg and arg ~= null then
      run_entity_check(schema, name, entity, arg, errors)
    end
  end
end

-- `value` has already been through process().
validate_record = function(record, value)
  local errors = {}
  local idx = field_index(record)
  for k, v in pairs(value) do
    local def = idx.by_name[k]
    if not def then
      errors[k] = E.UNKNOWN
    else
      local ok, err = validate_value(def, v)
      if not ok then
        errors[k] = err
      end
    end
  end
  for _, name in ipairs(idx.order) do
    local def = idx.by_name[name]
    local v = value[name]
    if def.required and (v == nil or v == null) and errors[name] == nil then
      errors[name] = E.REQUIRED
    end
  end
  run_entity_checks(record, value, errors)
  if next(errors) then
    return errors
  end
  return nil
end

-- Drops null markers so the handler sees absent optional fields as nil.
local function strip_nulls(v)
  if type(v) ~= "table" or v == null then
    return v
  end
  local out = {}
  for k, x in pairs(v) do
    if x ~= null then
      out[k] = strip_nulls(x)
    end
  end
  return setmetatable(out, getmetatable(v))
end

-------------------------------------------------------------------------------
-- Flattening errors into one readable line
-------------------------------------------------------------------------------

local function flatten(errs, prefix, out)
  local keys = {}
  for k in pairs(errs) do
    keys[#keys + 1] = k
  end
  sort(keys, function(a, b)
    -- "@entity" first, then fields alphabetically, array indexes in order
    if a == "@entity" then return b ~= "@entity" end
    if b == "@entity" then return false end
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  for _, k in ipairs(keys) do
    local v = errs[k]
    if k == "@entity" then
      for _, msg in ipairs(v) do
        out[#out + 1] = prefix and (prefix .. ": " .. msg) or msg
      end
    else
      local path = prefix and (prefix .. "." .. tostring(k)) or tostring(k)
      if type(v) == "table" then
        flatten(v, path, out)
      else
        out[#out + 1] = path .. ": " .. tostring(v)
      end
    end
  end
  return out
end

function M.errors_to_string(errs)
  return concat(flatten(errs, nil, {}), "; ")
end

-------------------------------------------------------------------------------
-- The schema itself, as Kong's MetaSubSchema checks it when it loads a plugin
-- (kong/db/schema/metaschema.lua, kong/db/schema/plugin_loader.lua). Kong
-- refuses to start with a plugin whose schema has an attribute it does not
-- know (a typo such as `defualt`), an attribute on a type that cannot carry
-- it, a description outside 10..500 characters, a default its own field
-- rejects or an entity check it has no checker for; without these rules a
-- schema could pass every spec here and still keep Kong from starting.
-------------------------------------------------------------------------------

local VALID_TYPES = {
  array = true, set = true, string = true, number = true, boolean = true,
  integer = true, foreign = true, map = true, record = true, ["function"] = true,
  json = true,
}

local function is_bool(v) return type(v) == "boolean" end
local function is_str(v) return type(v) == "string" end
local function is_int(v) return type(v) == "number" and v == floor(v) end
local function is_fn(v) return type(v) == "function" end

local function is_list_of(pred)
  return function(v)
    if not is_sequence(v) then return false end
    for _, x in ipairs(v) do
      if not pred(x) then return false end
    end
    return true
  end
end
local is_str_list = is_list_of(is_str)

local function is_match_list(v)
  return is_list_of(function(m)
    if type(m) ~= "table" or not is_str(m.pattern) then return false end
    for k, x in pairs(m) do
      if k ~= "pattern" and not (k == "err" and is_str(x)) then return false end
    end
    return true
  end)(v)
end

local function any() return true end

-- Attribute -> check of its value (nil: no check beyond being known).
local FIELD_ATTRIBUTES = {
  type = is_str, required = is_bool, reference = is_str,
  description = function(v)
    return is_str(v) and #v >= 10 and #v <= 500, "a string of 10 to 500 characters"
  end,
  examples = function(v) return is_sequence(v) end,
  auto = is_bool, unique = is_bool, unique_across_ws = is_bool,
  on_delete = function(v) return v == "restrict" or v == "cascade" or v == "null" end,
  default = any, abstract = is_bool, generate_admin_api = is_bool, immutable = is_bool,
  err = is_str, encrypted = is_bool, referenceable = is_bool,
  json_schema = function(v) return type(v) == "table" end,
  -- validators
  between = function(v)
    return is_sequence(v) and #v == 2 and type(v[1]) == "number" and type(v[2]) == "number"
  end,
  eq = any, ne = any, gt = function(v) return type(v) == "number" end,
  len_eq = is_int, len_min = is_int, len_max = is_int,
  match = is_str, not_match = is_str, starts_with = is_str,
  match_all = is_match_list, match_none = is_match_list,
  match_any = function(v)
    return type(v) == "table" and is_str_list(v.patterns) and (v.err == nil or is_str(v.err))
  end,
  one_of = function(v) return is_sequence(v) end,
  not_one_of = function(v) return is_sequence(v) end,
  contains = any, is_regex = is_bool, timestamp = is_bool, uuid = is_bool,
  custom_validator = is_fn,
  mutually_exclusive_subsets = is_list_of(is_str_list),
  -- nested definitions, checked recursively
  elements = function(v) return type(v) == "table" end,
  keys = function(v) return type(v) == "table" end,
  values = function(v) return type(v) == "table" end,
  fields = function(v) return is_sequence(v) end,
  entity_checks = function(v) return is_sequence(v) end,
  shorthand_fields = function(v) return is_sequence(v) end,
}

-- Attributes Kong only allows on some types (metaschema `attribute_types`).
local ATTRIBUTE_TYPES = {
  between = { integer = true, number = true },
  len_eq = { array = true, set = true, string = true, map = true },
  match = { string = true },
  one_of = { string = true, number = true, integer = true },
  contains = { array = true, set = true },
  is_regex = { string = true },
  timestamp = { number = true, integer = true },
  uuid = { string = true },
  unique = { string = true, number = true, integer = true, foreign = true },
  unique_across_ws = { string = true, number = true, integer = true, foreign = true },
  abstract = { string = true, number = true, integer = true, record = true, array = true,
               set = true, map = true },
  json_schema = { json = true },
}

local REQUIRED_ATTRIBUTES = {
  array = { "elements" }, set = { "elements" }, map = { "keys", "values" },
  record = { "fields" }, json = { "json_schema" },
}

-- Entity checker -> allowed argument shape.
local CONDITIONAL_MATCH = function(v) return type(v) == "table" end
local ENTITY_CHECKS = {
  at_least_one_of = is_str_list,
  only_one_of = is_str_list,
  distinct = is_str_list,
  mutually_required = is_str_list,
  mutually_exclusive = is_str_list,
  conditional = {
    if_field = is_str, if_match = CONDITIONAL_MATCH, then_field = is_str,
    then_match = CONDITIONAL_MATCH, then_err = is_str,
  },
  conditional_at_least_one_of = {
    if_field = is_str, if_match = CONDITIONAL_MATCH, then_at_least_one_of = is_str_list,
    then_err = is_str, else_match = CONDITIONAL_MATCH, else_then_at_least_one_of = is_str_list,
    else_then_err = is_str,
  },
  custom_entity_check = {
    field_sources = is_str_list, fn = is_fn,
    run_with_missing_fields = is_bool, run_with_invalid_fields = is_bool,
  },
  mutually_exclusive_sets = { set1 = is_str_list, set2 = is_str_list },
}

-- Fields of Kong's `plugins` entity: a plugin schema may only specialise
-- these (Entity.new_subschema: "cannot create a new field").
local PLUGIN_ENTITY_FIELDS = {
  id = true, name = true, created_at = true, updated_at = true, route = true,
  service = true, consumer = true, consumer_group = true, config = true,
  protocols = true, enabled = true, tags = true, instance_name = true, ordering = true,
}

local SUBSCHEMA_KEYS = {
  name = true, fields = true, entity_checks = true, shorthand_fields = true,
  transformations = true, check = true,
}

local check_field_def

local function check_field_list(fields, path, errs)
  if not is_sequence(fields) then
    errs[#errs + 1] = path .. ": 'fields' must be an array"
    return
  end
  for i, item in ipairs(fields) do
    local name, def = next(item)
    if type(item) ~= "table" or name == nil or next(item, name) ~= nil or type(name) ~= "string" then
      errs[#errs + 1] = ("%s: fields[%d] must be a table with exactly one field name"):format(path, i)
    elseif type(def) ~= "table" then
      errs[#errs + 1] = ("%s.%s: must be a table"):format(path, name)
    else
      check_field_def(def, path == "" and name or (path .. "." .. name), errs)
    end
  end
end

local function field_exists(record, name)
  local dot = find(name, ".", 1, true)
  for _, item in ipairs(record.fields or {}) do
    local k, def = next(item)
    if k == (dot and sub(name, 1, dot - 1) or name) then
      if not dot or def.type == "foreign" then
        return true
      end
      return type(def) == "table" and def.fields ~= nil and field_exists(def, sub(name, dot + 1))
    end
  end
  return false
end

local function check_entity_checks(record, checks, path, errs)
  for i, check in ipairs(checks) do
    local name, arg = next(check)
    local where = ("%s: entity_checks[%d]"):format(path, i)
    local shape = name and ENTITY_CHECKS[name]
    if not shape then
      errs[#errs + 1] = ("%s: unknown entity check '%s'"):format(where, tostring(name))
    elseif next(check, name) ~= nil then
      errs[#errs + 1] = where .. ": must name exactly one entity check"
    elseif type(shape) == "function" then
      if not shape(arg) then
        errs[#errs + 1] = ("%s: %s expects an array of field names"):format(where, name)
      end
    elseif type(arg) ~= "table" then
      errs[#errs + 1] = ("%s: %s expects a table"):format(where, name)
    else
      for k, v in pairs(arg) do
        local ok = shape[k]
        if not ok then
          errs[#errs + 1] = ("%s: %s: unknown field '%s'"):format(where, name, tostring(k))
        elseif not ok(v) then
          errs[#errs + 1] = ("%s: %s: invalid value for '%s'"):format(where, name, k)
        end
      end
    end
    -- Kong looks every named field up in the schema and fails with a Lua
    -- error at validation time when it is not there.
    if shape and type(arg) == "table" then
      local names = {}
      if type(shape) == "function" then
        names = arg
      else
        for _, key in ipairs({ "if_field", "then_field" }) do
          if is_str(arg[key]) then names[#names + 1] = arg[key] end
        end
        for _, key in ipairs({ "field_sources", "then_at_least_one_of",
                               "else_then_at_least_one_of", "set1", "set2" }) do
          for _, n in ipairs(type(arg[key]) == "table" and arg[key] or {}) do
            names[#names + 1] = n
          end
        end
      end
      for _, n in ipairs(names) do
        if is_str(n) and not field_exists(record, n) then
          errs[#errs + 1] = ("%s: %s names '%s', which is not a field"):format(where, name, n)
        end
      end
    end
  end
end

check_field_def = function(def, path, errs)
  local t = def.type
  if t == nil then
    errs[#errs + 1] = path .. ": missing type declaration"
    return
  end
  if not VALID_TYPES[t] then
    errs[#errs + 1] = ("%s: unknown type '%s'"):format(path, tostring(t))
    return
  end
  for attr, v in pairs(def) do
    local check = FIELD_ATTRIBUTES[attr]
    if not check then
      errs[#errs + 1] = ("%s: unknown field attribute '%s'"):format(path, tostring(attr))
    else
      local ok, want = check(v)
      if not ok then
        errs[#errs + 1] = ("%s: invalid '%s'%s"):format(path, attr, want and (" (expected " .. want .. ")") or "")
      end
      if ATTRIBUTE_TYPES[attr] and not ATTRIBUTE_TYPES[attr][t] then
        errs[#errs + 1] = ("%s: field of type '%s' cannot have attribute '%s'"):format(path, t, attr)
      end
    end
  end
  for _, req in ipairs(REQUIRED_ATTRIBUTES[t] or {}) do
    if def[req] == nil and not (t == "record" and def.abstract) then
      errs[#errs + 1] = ("%s: field of type '%s' must declare '%s'"):format(path, t, req)
    end
  end
  for _, nested in ipairs({ "elements", "keys", "values" }) do
    if type(def[nested]) == "table" then
      check_field_def(def[nested], path .. "." .. nested, errs)
    end
  end
  if is_sequence(def.fields) then
    check_field_list(def.fields, path, errs)
  end
  if is_sequence(def.entity_checks) and def.fields then
    check_entity_checks(def, def.entity_checks, path, errs)
  end
  -- `default` is checked against the field it belongs to (type "self").
  if def.default ~= nil and #errs == 0 then
    local ok, err = validate_value(def, def.default)
    if not ok then
      errs[#errs + 1] = ("%s: default is invalid: %s"):format(path,
        type(err) == "table" and M.errors_to_string(err) or tostring(err))
    end
  end
end

local meta_cache = setmetatable({}, { __mode = "k" })

--- Checks a plugin schema the way Kong does before loading the plugin.
-- @return true | nil, message (every problem, "; "-separated)
function M.check_schema(schema)
  if type(schema) ~= "table" then
    return nil, "expected a schema table"
  end
  local cached = meta_cache[schema]
  if cached ~= nil then
    if cached == true then return true end
    return nil, cached
  end
  local errs = {}
  for k in pairs(schema) do
    if not SUBSCHEMA_KEYS[k] then
      errs[#errs + 1] = ("unknown schema attribute '%s'"):format(tostring(k))
    end
  end
  if not is_str(schema.name) then
    errs[#errs + 1] = "name: required field missing"
  end
  if schema.fields == nil then
    errs[#errs + 1] = "fields: 'fields' must be a table"
  else
    check_field_list(schema.fields, "", errs)
    for _, item in ipairs(is_sequence(schema.fields) and schema.fields or {}) do
      local name = type(item) == "table" and next(item)
      if is_str(name) and not PLUGIN_ENTITY_FIELDS[name] then
        errs[#errs + 1] = ("%s: a plugin schema cannot create a new field"):format(name)
      end
    end
  end
  if schema.entity_checks ~= nil then
    if is_sequence(schema.entity_checks) then
      check_entity_checks(schema, schema.entity_checks, "@entity", errs)
    else
      errs[#errs + 1] = "entity_checks: expected an array"
    end
  end
  if schema.check ~= nil and not is_fn(schema.check) then
    errs[#errs + 1] = "check: expected a function"
  end
  local msg = #errs > 0 and concat(errs, "; ") or nil
  meta_cache[schema] = msg or true
  if msg then
    return nil, msg
  end
  return true
end

-------------------------------------------------------------------------------
-- Entry point
-------------------------------------------------------------------------------

local function find_config_field(schema)
  for _, item in ipairs(schema.fields or {}) do
    local name, def = next(item)
    if name == "config" then
      return def
    end
  end
end

--- Validate a plugin config table against a Kong plugin schema.
-- @param schema the table schema.lua returns ({ name, fields = { ..., { config = record } }, entity_checks })
-- @param config the plugin's `config` (may be nil: all defaults)
-- @return conf (defaults filled) | nil, errors table, flattened message
function M.validate(schema, config)
  if type(schema) ~= "table" then
    return nil, { ["@entity"] = { "expected a schema table" } }, "expected a schema table"
  end
  local meta_ok, meta_err = M.check_schema(schema)
  if not meta_ok then
    local msg = "schema refused by Kong's metaschema: " .. meta_err
    return nil, { ["@entity"] = { msg } }, msg
  end
  local record = find_config_field(schema)
  if not record or record.type ~= "record" then
    local msg = "schema has no 'config' record"
    return nil, { ["@entity"] = { msg } }, msg
  end
  if config == nil or config == null then
    config = {}
  end
  if type(config) ~= "table" then
    local errs = { config = E.RECORD }
    return nil, errs, M.errors_to_string(errs)
  end

  local processed = process(record, deepcopy(config))
  local errors = {}
  local config_errs = validate_record(record, processed)
  if config_errs then
    errors.config = config_errs
  end

  -- Plugin-level checks address config fields as "config.<name>".
  run_entity_checks(schema, { config = processed }, errors)

  if next(errors) then
    return nil, errors, M.errors_to_string(errors)
  end
  return strip_nulls(processed)
end

return M
