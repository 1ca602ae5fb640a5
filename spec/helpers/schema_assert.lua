-- validate(config) and refused(config, text) for a plugin schema, through
-- the same validator the local gateway uses.
local validator = require "spec.helpers.schema"
local assert = require "luassert"

return function(schema)
  local function validate(config)
    return validator.validate(schema, config)
  end
  local function refused(config, text)
    local conf, _, msg = validate(config)
    assert.is_nil(conf, "config was accepted")
    assert.matches(text, msg, 1, true)
  end
  return validate, refused
end
