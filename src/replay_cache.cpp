#include "upstream_jwt/replay_cache.hpp"

namespace upstream_jwt {

InMemoryReplayCache::InMemoryReplayCache(std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity) {}

std::size_t InMemoryReplayCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_jti_.size();
}

void InMemoryReplayCache::evict_expired_locked(std::int64_t now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    by_jti_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

ReplayCheck InMemoryReplayCache::check_and_insert(std::string_view jti, std::int64_t expires_at,
                                                  std::int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key(jti);
  if (auto it = by_jti_.find(key); it != by_jti_.end()) {
    if (it->second->first > now) return ReplayCheck::replayed;  // live
    by_expiry_.erase(it->second);  // stale: forget, re-insert
    by_jti_.erase(it);
  }
  if (by_jti_.size() >= capacity_) evict_expired_locked(now);
  // Still full of live entries: evicting one would let its token be
  // replayed, so the newcomer is refused instead.
  if (by_jti_.size() >= capacity_) return ReplayCheck::full;
  auto pos = by_expiry_.emplace(expires_at, key);
  try {
    by_jti_.emplace(key, pos);
  } catch (...) {
    // Both indexes or neither: an expiry entry without its name would later
    // be evicted by name and take a live entry for the same jti with it.
    by_expiry_.erase(pos);
    throw;
  }
  return ReplayCheck::recorded;
}

}  // namespace upstream_jwt
