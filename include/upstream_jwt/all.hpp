// all.hpp — the whole C++ API in one include.
#ifndef UPSTREAM_JWT_ALL_HPP
#define UPSTREAM_JWT_ALL_HPP

#include "upstream_jwt/algorithm.hpp"
#include "upstream_jwt/base64url.hpp"
#include "upstream_jwt/digest.hpp"
#include "upstream_jwt/header_binding.hpp"
#include "upstream_jwt/jwk.hpp"
#include "upstream_jwt/keys.hpp"
#include "upstream_jwt/replay_cache.hpp"
#include "upstream_jwt/result.hpp"
#include "upstream_jwt/signer.hpp"
#include "upstream_jwt/verifier.hpp"

#endif  // UPSTREAM_JWT_ALL_HPP
