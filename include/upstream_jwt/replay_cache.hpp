// replay_cache.hpp — remembers jti values until their token expires.
#ifndef UPSTREAM_JWT_REPLAY_CACHE_HPP
#define UPSTREAM_JWT_REPLAY_CACHE_HPP

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace upstream_jwt {

// What check_and_insert found.
enum class ReplayCheck {
  recorded,  // jti was not live; it is now remembered until expires_at
  replayed,  // jti already seen and not yet expired: a replay
  full,      // no room without forgetting a live jti: refuse the token
};

// Implement this over a shared store (Redis, memcached...) when several
// verifier processes must agree on what was seen. An implementation must
// never forget a jti before its expires_at: a store that cannot remember one
// more answers `full` (or fails closed some other way), never evicts.
class ReplayCache {
 public:
  virtual ~ReplayCache() = default;
  // An entry is live while now < expires_at. Must be atomic with respect to
  // concurrent callers.
  virtual ReplayCheck check_and_insert(std::string_view jti, std::int64_t expires_at,
                                       std::int64_t now) = 0;
};

// Bounded, thread-safe, in-process. When full it drops expired entries; if
// it is still full of live ones the new jti is refused (`full`) and nothing
// is evicted, so a flood of fresh tokens can never flush a captured one.
// Size: capacity >= peak request rate x (max token lifetime + leeway).
class InMemoryReplayCache final : public ReplayCache {
 public:
  // capacity >= 1.
  explicit InMemoryReplayCache(std::size_t capacity);
  ReplayCheck check_and_insert(std::string_view jti, std::int64_t expires_at,
                               std::int64_t now) override;
  std::size_t size() const;
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  using ByExpiry = std::multimap<std::int64_t, std::string>;
  void evict_expired_locked(std::int64_t now);
  const std::size_t capacity_;
  mutable std::mutex mu_;
  ByExpiry by_expiry_;
  std::unordered_map<std::string, ByExpiry::iterator> by_jti_;
};

}  // namespace upstream_jwt

#endif  // UPSTREAM_JWT_REPLAY_CACHE_HPP
