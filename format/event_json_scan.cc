// The fast path of EventFromJson (format/event_json.h): one pass over an event line that fills an
// Event directly, with no JSON document in between. Import and replay of .jsonl files read millions
// of lines, and building, searching and freeing a document per line cost four fifths of their time.
//
// It accepts only what it fully understands: one flat object whose keys are the event's fields (each
// at most once) plus the derived `error`, with values of exactly the types the field takes and in its
// range, strings of well-formed UTF-8 without \u escapes of surrogates, integers without fraction or
// exponent. On anything else (a type or range error, an unknown or repeated key, `escaped`, nesting,
// malformed JSON) it declines, and the caller parses the line with nlohmann::json as before, so that
// what is accepted, what it means and every error message stay those of the one full parser. A
// declined line costs one partial scan more.
#include "format/event_json_scan.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "format/event.h"
#include "format/json_limits.h"
#include "format/text_escape.h"

namespace agenttrace {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }
  char Peek() {
    SkipSpace();
    return p_ < end_ ? *p_ : '\0';
  }

  // A string into *out (replacing it). False on anything the fast path does not take.
  bool String(std::string* out) {
    if (!Eat('"')) return false;
    out->clear();
    const char* start = p_;
    bool ascii = true;
    for (;;) {
      // Copy the run of ordinary bytes at once.
      const char* run = p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) {
        if (static_cast<unsigned char>(*p_) >= 0x80) ascii = false;
        ++p_;
      }
      out->append(run, p_ - run);
      if (p_ >= end_) return false;
      char c = *p_++;
      if (c == '"') break;
      if (c != '\\') return false;  // a raw control character: malformed
      if (p_ >= end_) return false;
      char esc = *p_++;
      switch (esc) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          if (end_ - p_ < 4) return false;
          uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            char h = *p_++;
            cp <<= 4;
            if (h >= '0' && h <= '9') {
              cp |= h - '0';
            } else if (h >= 'a' && h <= 'f') {
              cp |= h - 'a' + 10;
            } else if (h >= 'A' && h <= 'F') {
              cp |= h - 'A' + 10;
            } else {
              return false;
            }
          }
          if (cp >= 0xd800 && cp <= 0xdfff) return false;  // surrogates: the full parser pairs them
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          } else {
            out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          }
          break;
        }
        default:
          return false;
      }
    }
    (void)start;
    // The full parser rejects ill-formed UTF-8; leave such lines to it.
    return ascii || IsValidUtf8(*out);
  }

  // An integer: sign and magnitude. False for fractions, exponents, leading zeros, overflow.
  bool Integer(bool* negative, uint64_t* magnitude) {
    SkipSpace();
    *negative = false;
    if (p_ < end_ && *p_ == '-') {
      *negative = true;
      ++p_;
    }
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0' && p_ + 1 < end_ && p_[1] >= '0' && p_[1] <= '9') return false;
    uint64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      uint64_t d = static_cast<uint64_t>(*p_ - '0');
      if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
      v = v * 10 + d;
      ++p_;
    }
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    *magnitude = v;
    return true;
  }

  bool Literal(std::string_view word) {
    SkipSpace();
    if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return false;
    p_ += word.size();
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

template <typename T>
bool ReadInt(Scanner& s, T* out) {
  bool neg = false;
  uint64_t mag = 0;
  if (!s.Integer(&neg, &mag)) return false;
  if constexpr (std::is_unsigned_v<T>) {
    if (neg && mag != 0) return false;
    if (mag > std::numeric_limits<T>::max()) return false;
    *out = static_cast<T>(mag);
  } else {
    if (neg) {
      if (mag > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) return false;
      int64_t v = mag == static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1
                      ? std::numeric_limits<int64_t>::min()
                      : -static_cast<int64_t>(mag);
      if (v < std::numeric_limits<T>::min()) return false;
      *out = static_cast<T>(v);
    } else {
      if (mag > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
      *out = static_cast<T>(mag);
    }
  }
  return true;
}

bool ReadBool(Scanner& s, bool* out) {
  if (s.Literal("true")) {
    *out = true;
    return true;
  }
  if (s.Literal("false")) {
    *out = false;
    return true;
  }
  return false;
}

bool ReadStrings(Scanner& s, std::vector<std::string>* out) {
  if (!s.Eat('[')) return false;
  out->clear();
  if (s.Eat(']')) return true;
  do {
    out->emplace_back();
    if (!s.String(&out->back())) return false;
  } while (s.Eat(','));
  return s.Eat(']');
}

bool ReadArgs(Scanner& s, std::array<uint64_t, 6>* out) {
  if (!s.Eat('[')) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && !s.Eat(',')) return false;
    bool neg = false;
    uint64_t mag = 0;
    if (!s.Integer(&neg, &mag) || neg) return false;
    (*out)[i] = mag;
  }
  return s.Eat(']');
}

}  // namespace

bool ScanEventJson(std::string_view line, bool require_seq, Event* e, std::string* scratch) {
  e->Clear();
  Scanner s(line);
  if (!s.Eat('{')) return false;
  uint64_t seen = 0;  // one bit per key, to refuse repeats
  bool have_kind = false;
  if (s.Eat('}')) return false;  // no kind
  std::string& key = *scratch;
  do {
    if (!s.String(&key)) return false;
    if (!s.Eat(':')) return false;
    int bit = -1;
    bool ok = false;
    // Keys by length then bytes: a switch on the first byte keeps the lookup cheap.
    auto is = [&](const char* name, int b) {
      if (key != name) return false;
      bit = b;
      return true;
    };
    if (is("seq", 0)) {
      ok = ReadInt(s, &e->seq);
    } else if (is("ts_ns", 1)) {
      ok = ReadInt(s, &e->wall_ns);
    } else if (is("mono_ns", 2)) {
      ok = ReadInt(s, &e->mono_ns);
    } else if (is("pid", 3)) {
      ok = ReadInt(s, &e->pid);
    } else if (is("tid", 4)) {
      ok = ReadInt(s, &e->tid);
    } else if (is("kind", 5)) {
      std::string kind;
      ok = s.String(&kind);
      if (ok) {
        auto k = ParseEventKind(kind);
        ok = k.has_value();
        if (ok) e->kind = *k;
        have_kind = ok;
      }
    } else if (is("result", 6)) {
      ok = ReadInt(s, &e->result);
    } else if (is("error", 7)) {
      std::string ignored;  // derived, for people
      ok = s.String(&ignored);
    } else if (is("path", 8)) {
      ok = s.String(&e->path);
    } else if (is("path2", 9)) {
      ok = s.String(&e->path2);
    } else if (is("resolved", 10)) {
      ok = s.String(&e->resolved);
    } else if (is("resolved2", 11)) {
      ok = s.String(&e->resolved2);
    } else if (is("flags", 12)) {
      ok = ReadInt(s, &e->flags);
    } else if (is("mode", 13)) {
      ok = ReadInt(s, &e->mode);
    } else if (is("uid", 14)) {
      ok = ReadInt(s, &e->uid);
    } else if (is("gid", 15)) {
      ok = ReadInt(s, &e->gid);
    } else if (is("size", 16)) {
      ok = ReadInt(s, &e->size);
    } else if (is("argv", 17)) {
      ok = ReadStrings(s, &e->argv);
    } else if (is("env_names", 18)) {
      ok = ReadStrings(s, &e->env_names);
    } else if (is("secret_env_names", 19)) {
      ok = ReadStrings(s, &e->secret_env_names);
    } else if (is("child_pid", 20)) {
      ok = ReadInt(s, &e->child_pid);
    } else if (is("is_thread", 21)) {
      ok = ReadBool(s, &e->is_thread);
    } else if (is("exit_code", 22)) {
      ok = ReadInt(s, &e->exit_code);
    } else if (is("signal", 23)) {
      ok = ReadInt(s, &e->signal);
    } else if (is("family", 24)) {
      ok = ReadInt(s, &e->family);
    } else if (is("address", 25)) {
      ok = s.String(&e->address);
    } else if (is("port", 26)) {
      ok = ReadInt(s, &e->port);
    } else if (is("server", 27)) {
      ok = s.String(&e->server);
    } else if (is("tool", 28)) {
      ok = s.String(&e->tool);
    } else if (is("method", 29)) {
      ok = s.String(&e->method);
    } else if (is("request_id", 30)) {
      ok = s.String(&e->request_id);
    } else if (is("json", 31)) {
      ok = s.String(&e->json);
    } else if (is("is_error", 32)) {
      ok = ReadBool(s, &e->is_error);
    } else if (is("duration_ns", 33)) {
      ok = ReadInt(s, &e->duration_ns);
    } else if (is("direction", 34)) {
      std::string dir;
      ok = s.String(&dir);
      if (dir == "to_server") {
        e->direction = Direction::kToServer;
      } else if (dir == "to_agent") {
        e->direction = Direction::kToAgent;
      } else {
        ok = ok && dir.empty();
      }
    } else if (is("syscall_nr", 35)) {
      ok = ReadInt(s, &e->syscall_nr);
    } else if (is("arch", 36)) {
      ok = ReadInt(s, &e->arch);
    } else if (is("args", 37)) {
      ok = ReadArgs(s, &e->args);
    } else if (is("text", 38)) {
      ok = s.String(&e->text);
    }
    if (!ok || bit < 0) return false;  // a bad value, or a key the full parser must see
    if (seen & (uint64_t{1} << bit)) return false;
    seen |= uint64_t{1} << bit;
  } while (s.Eat(','));
  if (!s.Eat('}') || !s.AtEnd() || !have_kind) return false;
  if (require_seq && ((seen & 1) == 0 || (seen & 2) == 0)) return false;
  if (e->kind == EventKind::kToolCall && JsonNestingExceeds(e->json)) return false;
  return true;
}

}  // namespace agenttrace
