-- Kong 3.x `key-auth`, reduced to what the local gateway needs: keys from the
-- declarative config, looked up in the header, then the query string, then
-- (opt-in) a form body. Answers and headers match Kong's so services and
-- tests see what they would behind Kong.
local store = require "gateway.store"

local kong = kong

local KeyAuthHandler = {
  PRIORITY = 1250,
  VERSION = "3.4.0",
}

local WWW_AUTHENTICATE = 'Key realm="kong"'

local function set_consumer(consumer, credential)
  local set_header = kong.service.request.set_header
  local clear_header = kong.service.request.clear_header

  if consumer and consumer.id then
    set_header("X-Consumer-ID", consumer.id)
  else
    clear_header("X-Consumer-ID")
  end
  if consumer and consumer.custom_id then
    set_header("X-Consumer-Custom-ID", consumer.custom_id)
  else
    clear_header("X-Consumer-Custom-ID")
  end
  if consumer and consumer.username then
    set_header("X-Consumer-Username", consumer.username)
  else
    clear_header("X-Consumer-Username")
  end
  if credential and credential.id then
    set_header("X-Credential-Identifier", credential.id)
  else
    clear_header("X-Credential-Identifier")
  end
  if credential then
    clear_header("X-Anonymous-Consumer")
  else
    set_header("X-Anonymous-Consumer", "true")
  end

  kong.client.authenticate(consumer, credential)
end

local function unauthorized(message)
  return { status = 401, message = message, headers = { ["WWW-Authenticate"] = WWW_AUTHENTICATE } }
end

local function find_key(conf)
  local query, body
  for _, name in ipairs(conf.key_names) do
    local key, where
    if conf.key_in_header then
      key = kong.request.get_header(name)
      where = key ~= nil and "header" or nil
    end
    if key == nil and conf.key_in_query then
      query = query or kong.request.get_query()
      key = query[name]
      if type(key) == "table" then
        return nil, nil, unauthorized("Duplicate API key found")
      end
      -- a bare `?apikey` is "no key", not an empty one
      if key == true then
        key = nil
      end
      where = key ~= nil and "query" or nil
    end
    if key == nil and conf.key_in_body then
      if body == nil then
        ngx.req.read_body()
        body = ngx.req.get_post_args() or {}
      end
      key = body[name]
      if type(key) == "table" then
        return nil, nil, unauthorized("Duplicate API key found")
      end
      where = key ~= nil and "body" or nil
    end
    if type(key) == "string" then
      if key == "" then
        break -- Kong: an empty key is no key, not one to look further for
      end
      return key, { name = name, where = where, query = query, body = body }
    end
  end
  return nil, nil, unauthorized("No API key found in request")
end

local function hide(conf, found)
  if not conf.hide_credentials then
    return
  end
  if found.where == "header" then
    kong.service.request.clear_header(found.name)
  elseif found.where == "query" then
    found.query[found.name] = nil
    ngx.req.set_uri_args(found.query)
  elseif found.where == "body" then
    found.body[found.name] = nil
    kong.service.request.set_raw_body(ngx.encode_args(found.body))
  end
end

local function do_authentication(conf)
  local key, found, err = find_key(conf)
  if not key then
    return nil, err
  end
  local credential = store.keyauth_credential(key)
  if not credential then
    return nil, unauthorized("Invalid authentication credentials")
  end
  hide(conf, found)
  local consumer = store.consumer(credential.consumer.id)
  if not consumer then
    return nil, { status = 500, message = "An unexpected error occurred" }
  end
  set_consumer(consumer, credential)
  return true
end

function KeyAuthHandler:access(conf)
  if not conf.run_on_preflight and kong.request.get_method() == "OPTIONS" then
    return
  end
  -- Another auth plugin already authenticated the request ("logical OR").
  if conf.anonymous and kong.client.get_credential() then
    return
  end

  local ok, err = do_authentication(conf)
  if ok then
    return
  end
  if conf.anonymous then
    local consumer = store.consumer(conf.anonymous)
    if not consumer then
      return kong.response.error(500, "An unexpected error occurred")
    end
    set_consumer(consumer, nil)
    return
  end
  return kong.response.error(err.status, err.message, err.headers)
end

return KeyAuthHandler
