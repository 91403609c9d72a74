// The fast JSON paths of events (format/event_json_scan.cc, the writer in format/event_json.cc) against
// the references they replaced: nlohmann::json's dump() for the bytes written, the full parser
// (EventFromJsonFull) for what a line means and for every error message.
#include "format/event_json_scan.h"

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "format/event.h"
#include "format/event_json.h"
#include "gtest/gtest.h"
#include "tests/format/synthetic_events.h"

namespace agenttrace {
namespace {

using OJson = nlohmann::ordered_json;

// Strings that stress escaping: quotes, backslashes, every control character, DEL, C1, multi-byte
// UTF-8, U+2028, and bytes that are not UTF-8 at all.
std::vector<std::string> NastyStrings() {
  std::vector<std::string> v = {"",
                                "plain",
                                "q\"uo\\te",
                                "tab\tnl\ncr\rbs\bff\f",
                                "\x7f del",
                                "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80",
                                "\xc2\x85 c1",
                                "bad \xff\xfe bytes",
                                "\xed\xa0\x80 surrogate bytes",
                                "slash / and \\/"};
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  v.push_back(controls);
  return v;
}

// Events of every kind, with nasty strings in every text field.
std::vector<Event> Corpus() {
  std::vector<Event> events;
  auto nasty = NastyStrings();
  for (uint16_t k = 0; k < kEventKindCount; ++k) {
    for (uint64_t i = 0; i < 6; ++i) {
      Event e = testing::FullEvent(static_cast<EventKind>(k), i * 7 + k);
      const std::string& s = nasty[(i + k) % nasty.size()];
      if (!e.path.empty()) e.path += s;
      if (!e.json.empty() && i % 2) e.json += s;
      if (!e.argv.empty()) e.argv.push_back(s);
      if (!e.text.empty() || i == 3) e.text = s;
      if (i == 4) e.result = -4095;
      if (i == 5) e.wall_ns = -1;
      events.push_back(e);
    }
  }
  return events;
}

TEST(EventJsonScanTest, WrittenBytesAreThoseOfNlohmannDump) {
  for (const Event& e : Corpus()) {
    std::string line = EventToJson(e);
    OJson j = OJson::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j.dump(-1, ' ', false, OJson::error_handler_t::replace), line);
  }
}

TEST(EventJsonScanTest, EveryWrittenEventReadsBackEqual) {
  for (const Event& e : Corpus()) {
    std::string line = EventToJson(e);
    auto back = EventFromJson(line);
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << line;
    EXPECT_EQ(*back, e) << line;
  }
}

// Where the fast path takes a line it must agree with the full parser; where it declines, the caller
// gives the full parser's answer, error message included.
void ExpectSameAsFullParser(const std::string& line, bool require_seq = true) {
  SCOPED_TRACE(line);
  auto full = EventFromJsonFull(line, require_seq);
  Event fast;
  std::string scratch;
  if (ScanEventJson(line, require_seq, &fast, &scratch)) {
    ASSERT_TRUE(full.ok()) << "the fast path accepted what the full parser rejects: " << full.status().message();
    EXPECT_EQ(fast, *full);
  }
  auto got = EventFromJson(line, require_seq);
  ASSERT_EQ(got.ok(), full.ok());
  if (got.ok()) {
    EXPECT_EQ(*got, *full);
  } else {
    EXPECT_EQ(got.status().message(), full.status().message());
    EXPECT_EQ(got.status().code(), full.status().code());
  }
}

TEST(EventJsonScanTest, TrickyLinesMeanWhatTheFullParserSays) {
  const std::string head = R"({"seq":1,"ts_ns":2,"kind":"file.open")";
  const std::vector<std::string> tails = {
      "}",
      R"(,"path":"caf\u00e9 \u2028 \/x"})",
      R"(,"path":"pair \ud83d\ude00"})",  // surrogate pair: the full parser's job
      R"(,"path":"lone \ud83d"})",        // invalid
      ",\"path\":\"raw\x01control\"}",    // invalid
      ",\"path\":\"bad \xff utf8\"}",     // invalid
      R"(,"result":-0})",
      R"(,"result":-9223372036854775808})",
      R"(,"result":-9223372036854775809})",
      R"(,"result":18446744073709551615})",
      R"(,"result":1.0})",
      R"(,"result":1e3})",
      R"(,"result":01})",
      R"(,"port":65536})",
      R"(,"port":-1})",
      R"(,"pid":2147483648})",
      R"(,"flags":-0})",
      R"(,"path":null})",
      R"(,"is_error":1})",
      R"(,"argv":["a",1]})",
      R"(,"argv":[]})",
      R"(,"args":[1,2,3,4,5]})",
      R"(,"args":[1,2,3,4,5,6]})",
      R"(,"args":[1,2,3,4,5,-6]})",
      R"(,"direction":"sideways"})",
      R"(,"direction":""})",
      R"(,"error":"ENOENT","unknown":{"x":[1,2]}})",
      R"(,"path":"a","path":"b"})",  // repeated key
      R"(,"escaped":["path"],"path":"\\xff"})",
      R"(,"kind":"tool.call"})",
      R"(} trailing)",
      R"(}   )",
      "",
  };
  for (const std::string& t : tails) ExpectSameAsFullParser(head + t);
  for (const std::string& line :
       {std::string(R"({"kind":"nope","seq":0,"ts_ns":0})"), std::string(R"({"seq":0,"ts_ns":0})"),
        std::string(R"({"kind":"annotation"})"),
        std::string("\xef\xbb\xbf{\"kind\":\"annotation\",\"seq\":0,\"ts_ns\":0}"),
        std::string(R"( { "seq" : 3 , "ts_ns" : 4 , "kind" : "gap" , "size" : 9 } )"),
        std::string(R"({"seq":0,"ts_ns":0,"kind":"tool.call","json":")") + std::string(300, '[') + "\"}",
        std::string("[1,2]"), std::string("{}"), std::string("not json")}) {
    ExpectSameAsFullParser(line);
  }
  ExpectSameAsFullParser(R"({"kind":"annotation","text":"socket"})", /*require_seq=*/false);
}

TEST(EventJsonScanTest, RandomWhitespaceAndFieldOrderReadTheSame) {
  std::mt19937_64 rng(42);
  for (const Event& e : Corpus()) {
    OJson j = OJson::parse(EventToJson(e));
    // Reverse the keys and pad with whitespace: the same object, other bytes.
    std::string line = "{";
    std::vector<std::pair<std::string, OJson>> items;
    for (auto it = j.begin(); it != j.end(); ++it) items.emplace_back(it.key(), it.value());
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      if (line.size() > 1) line += rng() % 2 ? " ,\n" : ",";
      line += OJson(it->first).dump() + (rng() % 2 ? " : " : ":") + it->second.dump();
    }
    line += " }";
    ExpectSameAsFullParser(line);
  }
}

// Mutated lines (bytes changed, dropped, inserted; JSON's own characters favoured): wherever the fast
// path still accepts one, it must agree with the full parser.
TEST(EventJsonScanTest, MutatedLinesNeverDisagreeWithTheFullParser) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "{}[]\",:-0123456789.eE \\u\x01\xff\xc3tfn";
  std::vector<Event> corpus = Corpus();
  for (size_t n = 0; n < corpus.size(); n += 3) {
    const std::string line = EventToJson(corpus[n]);
    for (int m = 0; m < 60; ++m) {
      std::string x = line;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < edits && !x.empty(); ++k) {
        size_t at = rng() % x.size();
        char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0:
            x[at] = c;
            break;
          case 1:
            x.erase(at, 1);
            break;
          default:
            x.insert(at, 1, c);
        }
      }
      ExpectSameAsFullParser(x);
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace agenttrace
