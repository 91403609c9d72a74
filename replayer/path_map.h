// A bounded map from path bytes to a small value, for the evaluator's per-session caches (what is
// known of a path: secret or not, plain-rule outcomes). Request-time evaluation meets mostly paths it
// has never seen (a git run touches thousands of objects once each), so inserting must cost no heap
// allocation: keys are appended to one byte arena, values live in one vector, and an open-addressing
// table of (hash tag, entry) slots finds them, so a miss touches one slot and a hit one slot plus
// its entry and key bytes.
//
// Bounded: when `max_entries` entries or `max_key_bytes` key bytes are held, the next insert clears
// the map first (as the evaluator's caches always did: forgetting is always correct for them, they
// are recomputed). A key longer than `max_key_bytes` is never stored: it gets a scratch value, reset
// at each such lookup (at(kScratch)).
//
// Indexes stay valid until the map is cleared, which generation() tells (an insert may clear it);
// references to values until the next insert (an insert may move the values).
//
// Thread-safety: none; one owner.
#ifndef AGENTTRACE_REPLAYER_PATH_MAP_H_
#define AGENTTRACE_REPLAYER_PATH_MAP_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "format/status.h"

namespace agenttrace {

template <typename V, typename Hash = std::hash<std::string_view>>
class PathMap {
 public:
  // Both bounds are capped at 2^31 (slots and offsets are 32 bits).
  PathMap(size_t max_entries, size_t max_key_bytes)
      : max_entries_(std::min<size_t>(max_entries, size_t{1} << 31)),
        max_key_bytes_(std::min<size_t>(max_key_bytes, size_t{1} << 31)) {}

  // What Index returns for a key longer than max_key_bytes: at(kScratch) is the scratch value.
  static constexpr size_t kScratch = SIZE_MAX;

  // The index of `key`'s entry, its value value-initialised and stored if it was missing (*inserted
  // says which). Valid until the map is cleared (generation() changes; an insert may clear it).
  size_t Index(std::string_view key, bool* inserted = nullptr) {
    if (key.size() > max_key_bytes_) {
      scratch_ = V();
      if (inserted) *inserted = true;
      return kScratch;
    }
    const uint64_t h = static_cast<uint64_t>(Hash()(key));
    if (!slots_.empty()) {
      if (size_t k = Lookup(key, h); k != kScratch) {
        if (inserted) *inserted = false;
        return k;
      }
    }
    if (entries_.size() >= max_entries_ || keys_.size() + key.size() > max_key_bytes_) Clear();
    if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
    Entry e;
    e.hash = h;
    e.offset = static_cast<uint32_t>(keys_.size());
    e.size = static_cast<uint32_t>(key.size());
    keys_.append(key);
    entries_.push_back(std::move(e));
    Place(h, static_cast<uint32_t>(entries_.size()));
    if (inserted) *inserted = true;
    return entries_.size() - 1;
  }
  // The value at `index` (from Index). The reference is valid until the next Index that inserts. An
  // index kept across a clear is a bug: checked, since it could otherwise read a forgotten entry.
  V& at(size_t index) {
    if (index == kScratch) return scratch_;
    AT_CHECK_MSG(index < entries_.size(), "stale PathMap index " + std::to_string(index));
    return entries_[index].value;
  }
  // at(Index(key, inserted)).
  V& FindOrInsert(std::string_view key, bool* inserted = nullptr) { return at(Index(key, inserted)); }

  // The value of `key`, or null.
  V* Find(std::string_view key) {
    if (slots_.empty() || key.size() > max_key_bytes_) return nullptr;
    size_t k = Lookup(key, static_cast<uint64_t>(Hash()(key)));
    return k == kScratch ? nullptr : &entries_[k].value;
  }

  // Forgets every entry; keeps the memory (the bound is what it may grow to).
  void Clear() {
    entries_.clear();
    keys_.clear();
    std::fill(slots_.begin(), slots_.end(), Slot{});
    ++generation_;
  }

  size_t size() const { return entries_.size(); }
  uint64_t generation() const { return generation_; }

 private:
  struct Slot {
    uint32_t tag = 0;    // the hash's high half: most mismatches are rejected without the entry
    uint32_t entry = 0;  // index + 1 into entries_; 0: empty
  };
  struct Entry {
    uint64_t hash = 0;
    uint32_t offset = 0;  // into keys_
    uint32_t size = 0;
    V value{};
  };

  // The index of `key`'s entry, or kScratch.
  size_t Lookup(std::string_view key, uint64_t h) const {
    const size_t mask = slots_.size() - 1;
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.entry == 0) return kScratch;
      if (s.tag != tag) continue;
      const Entry& e = entries_[s.entry - 1];
      if (e.hash == h && e.size == key.size() && std::memcmp(keys_.data() + e.offset, key.data(), key.size()) == 0) {
        return s.entry - 1;
      }
    }
  }
  void Place(uint64_t h, uint32_t entry) {
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i].entry != 0) i = (i + 1) & mask;
    slots_[i] = Slot{static_cast<uint32_t>(h >> 32), entry};
  }
  // Doubles the table (load stays at most one half, so probes stay short and always end).
  void Grow() {
    slots_.assign(slots_.empty() ? 64 : slots_.size() * 2, Slot{});
    for (size_t k = 0; k < entries_.size(); ++k) Place(entries_[k].hash, static_cast<uint32_t>(k + 1));
  }

  const size_t max_entries_;
  const size_t max_key_bytes_;
  std::vector<Slot> slots_;  // size 0 or a power of two
  std::vector<Entry> entries_;
  std::string keys_;
  V scratch_{};
  uint64_t generation_ = 0;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_REPLAYER_PATH_MAP_H_
