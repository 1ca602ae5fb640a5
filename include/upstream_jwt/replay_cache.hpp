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

// Implement this over a shared store (Redis, memcached...) when several
// verifier processes must agree on what was seen.
class ReplayCache {
 public:
  virtual ~ReplayCache() = default;
  // true: jti was not live (now remembered until expires_at);
  // false: jti already seen and not yet expired -> replay.
  // Must be atomic with respect to concurrent callers.
  virtual bool check_and_insert(std::string_view jti, std::int64_t expires_at,
                                std::int64_t now) = 0;
};

// Bounded, thread-safe, in-process. When full it first drops expired entries,
// then the entry that expires soonest (the one least useful to keep).
class InMemoryReplayCache final : public ReplayCache {
 public:
  // capacity >= 1.
  explicit InMemoryReplayCache(std::size_t capacity);
  bool check_and_insert(std::string_view jti, std::int64_t expires_at,
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
