#include "format/chunk_strings.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "format/chunk_varint.h"

namespace agenttrace {

using chunk_varint::AppendVarint;
using chunk_varint::ReadVarint;

ChunkStringTable::ChunkStringTable() { slots_.assign(1024, 0); }

uint64_t ChunkStringTable::Intern(std::string_view s) {
  if (s.empty()) return 0;
  const size_t count = ends_.size();
  if ((count + 1) * 2 > slots_.size()) {
    std::vector<uint32_t> slots(slots_.size() * 2, 0);
    size_t mask = slots.size() - 1;
    for (uint32_t idx = 0; idx < count; ++idx) {
      size_t i = hashes_[idx] & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = idx + 1;
    }
    slots_.swap(slots);
  }
  uint64_t h = std::hash<std::string_view>{}(s);
  size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i] != 0) {
    uint32_t idx = slots_[i] - 1;
    if (hashes_[idx] == h) {
      uint32_t begin = idx == 0 ? 0 : ends_[idx - 1];
      if (std::string_view(data_).substr(begin, ends_[idx] - begin) == s) {
        // String number idx + 1 of the count seen so far: r = seen + 2 - number.
        return count + 1 - idx;
      }
    }
    i = (i + 1) & mask;
  }
  data_.append(s);
  ends_.push_back(static_cast<uint32_t>(data_.size()));
  hashes_.push_back(h);
  slots_[i] = static_cast<uint32_t>(count + 1);
  return 1;  // the next new string
}

void ChunkStringTable::Clear() {
  data_.clear();
  ends_.clear();
  std::fill(slots_.begin(), slots_.end(), 0);
  hashes_.clear();
}

void ChunkStringTable::FrontCode(std::string* lengths, std::string* suffixes) const {
  // Paths recorded one after another share long prefixes, which cost less as a length than as a zstd
  // match.
  lengths->clear();
  suffixes->clear();
  std::string_view prev;
  uint32_t begin = 0;
  for (uint32_t end : ends_) {
    std::string_view cur = std::string_view(data_).substr(begin, end - begin);
    size_t shared = 0;
    const size_t max_shared = std::min(prev.size(), cur.size());
    while (shared < max_shared && prev[shared] == cur[shared]) ++shared;
    AppendVarint(lengths, shared);
    AppendVarint(lengths, cur.size() - shared);
    suffixes->append(cur.substr(shared));
    prev = cur;
    begin = end;
  }
}

Status UndoFrontCoding(std::string_view lengths, std::string_view data, uint64_t max_bytes, std::string* strings,
                       std::vector<uint32_t>* ends) {
  strings->clear();
  const auto* pos = reinterpret_cast<const uint8_t*>(lengths.data());
  const auto* lengths_end = pos + lengths.size();
  uint64_t used = 0, prev_begin = 0, prev_len = 0;
  auto entry = [&] { return "string table entry " + std::to_string(ends->size()); };
  while (pos != lengths_end) {
    uint64_t shared = 0, rest = 0;
    if (!ReadVarint(&pos, lengths_end, &shared) || !ReadVarint(&pos, lengths_end, &rest)) {
      return Status::Corruption(entry() + ": truncated stringLengths");
    }
    if (shared > prev_len || rest > data.size() - used) return Status::Corruption(entry() + " is out of range");
    if (strings->size() + shared + rest > max_bytes) {
      return Status::Corruption("string table expands to more than " + std::to_string(max_bytes) + " bytes");
    }
    const uint64_t begin = strings->size();
    strings->resize(begin + shared + rest);  // grows geometrically
    char* d = strings->data();
    std::memcpy(d + begin, d + prev_begin, shared);  // the previous string ends at `begin`: no overlap
    std::memcpy(d + begin + shared, data.data() + used, rest);
    used += rest;
    prev_begin = begin;
    prev_len = shared + rest;
    if (strings->size() > UINT32_MAX) return Status::Corruption(entry() + " is out of range");
    ends->push_back(static_cast<uint32_t>(strings->size()));
  }
  if (used != data.size()) {
    return Status::Corruption("string table: " + std::to_string(data.size() - used) +
                              " bytes not covered by stringLengths");
  }
  return Status::Ok();
}

}  // namespace agenttrace
