// A chunk's string table: the encoder interns every string an event carries and refers to it
// relatively; at encode time the table is front-coded (each string stored as the length it shares
// with the previous one plus its new suffix), and the decoder undoes that. Byte layout: `Columns` in
// format/schema/agenttrace.capnp and docs/format.md ("Codec 2").
//
// Internal to format/. Thread-safety: thread-compatible.
#ifndef AGENTTRACE_FORMAT_CHUNK_STRINGS_H_
#define AGENTTRACE_FORMAT_CHUNK_STRINGS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/status.h"

namespace agenttrace {

class ChunkStringTable {
 public:
  ChunkStringTable();

  // Interns `s` and returns its relative reference: 0 for the empty string, 1 for a string not seen
  // before in this chunk (the next one of the table), r >= 2 for the string introduced r - 2
  // introductions before the newest one.
  uint64_t Intern(std::string_view s);
  // Forgets every string (keeps capacity).
  void Clear();
  size_t size() const { return ends_.size(); }
  size_t data_bytes() const { return data_.size(); }
  // Writes the front-coded table: `lengths` gets a (shared, rest) varint pair per string, `suffixes`
  // the new bytes of each string. Both are replaced.
  void FrontCode(std::string* lengths, std::string* suffixes) const;

 private:
  std::string data_;            // the strings, concatenated
  std::vector<uint32_t> ends_;  // end offset of each string in data_
  // Open addressing over (hash, index) so that the table never holds pointers into data_, which
  // moves when it grows.
  std::vector<uint32_t> slots_;   // index + 1, 0 = empty
  std::vector<uint64_t> hashes_;  // per string
};

// Undoes FrontCode: rebuilds the strings of a table from its `lengths` and `suffixes` into `strings`
// (replaced) and appends each string's end offset to `ends`. What the table expands to is bounded by
// `max_bytes`: shared prefixes let a small message describe huge strings. Errors: Corruption naming the
// table entry (without a chunk prefix).
Status UndoFrontCoding(std::string_view lengths, std::string_view suffixes, uint64_t max_bytes, std::string* strings,
                       std::vector<uint32_t>* ends);

}  // namespace agenttrace

#endif  // AGENTTRACE_FORMAT_CHUNK_STRINGS_H_
