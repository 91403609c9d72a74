#include "tools/export_otlp.h"

#include <curl/curl.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "format/otlp_json.h"
#include "format/output_file.h"
#include "replayer/action.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"
#include "tools/export_policy.h"

namespace agenttrace {
namespace {

constexpr size_t kMaxResponseBytes = 64u << 10;  // what we keep of a receiver's answer
constexpr long kConnectTimeoutSeconds = 10;
constexpr long kRequestTimeoutSeconds = 60;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t CollectBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t bytes = size * n;
  if (body->size() < kMaxResponseBytes) body->append(data, std::min(bytes, kMaxResponseBytes - body->size()));
  return bytes;
}

// Posts TracesData lines, one request each, over one connection.
class OtlpPoster {
 public:
  static Result<std::unique_ptr<OtlpPoster>> Create(const std::string& url) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    auto p = std::unique_ptr<OtlpPoster>(new OtlpPoster());
    p->url_ = url;
    p->curl_.reset(curl_easy_init());
    if (!p->curl_) return Status::Internal("curl_easy_init failed");
    p->headers_.reset(curl_slist_append(nullptr, "Content-Type: application/json"));
    CURL* c = p->curl_.get();
    curl_easy_setopt(c, CURLOPT_URL, p->url_.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers_.get());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, kRequestTimeoutSeconds);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &CollectBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &p->response_);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->error_);
    return p;
  }

  // POSTs each complete line of `lines`.
  Status PostLines(std::string_view lines) {
    while (!lines.empty()) {
      size_t nl = lines.find('\n');
      std::string_view line = lines.substr(0, nl);
      lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
      if (!line.empty()) AT_RETURN_IF_ERROR(Post(line));
    }
    return Status::Ok();
  }

  uint64_t requests() const { return requests_; }

 private:
  OtlpPoster() = default;

  Status Post(std::string_view body) {
    CURL* c = curl_.get();
    response_.clear();
    error_[0] = '\0';
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      std::string why = error_[0] != '\0' ? error_ : curl_easy_strerror(rc);
      return Status::IOError("POST " + url_ + ": " + why);
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
      std::string excerpt = response_.substr(0, 300);
      for (char& ch : excerpt) {
        if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
      }
      return Status::IOError("POST " + url_ + ": the receiver answered HTTP " + std::to_string(code) +
                             (excerpt.empty() ? "" : ": " + excerpt));
    }
    ++requests_;
    // OTLP/HTTP partial success: 200 with the spans it dropped counted in the answer.
    auto j = nlohmann::json::parse(response_, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
      auto ps = j.find("partialSuccess");
      if (ps != j.end() && ps->is_object()) {
        int64_t rejected = 0;
        if (auto r = ps->find("rejectedSpans"); r != ps->end()) {
          if (r->is_number_integer()) rejected = r->get<int64_t>();
          if (r->is_string()) rejected = std::strtoll(r->get<std::string>().c_str(), nullptr, 10);
        }
        if (rejected > 0) {
          std::string msg;
          if (auto m = ps->find("errorMessage"); m != ps->end() && m->is_string()) msg = ": " + m->get<std::string>();
          return Status::IOError("POST " + url_ + ": the receiver rejected " + std::to_string(rejected) + " spans" +
                                 msg);
        }
      }
    }
    return Status::Ok();
  }

  std::string url_;
  std::unique_ptr<CURL, CurlDeleter> curl_;
  std::unique_ptr<curl_slist, SlistDeleter> headers_;
  std::string response_;
  char error_[CURL_ERROR_SIZE] = {};
  uint64_t requests_ = 0;
};

}  // namespace

Result<std::string> OtlpTracesUrl(const std::string& endpoint) {
  std::string_view e = endpoint;
  size_t scheme = e.find("://");
  if (scheme == std::string_view::npos || (e.substr(0, scheme) != "http" && e.substr(0, scheme) != "https")) {
    return Status::InvalidArgument("--otlp-endpoint must be an http:// or https:// URL, not \"" + endpoint + "\"");
  }
  size_t path = e.find('/', scheme + 3);
  if (scheme + 3 >= e.size() || path == scheme + 3) {
    return Status::InvalidArgument("--otlp-endpoint \"" + endpoint + "\" names no host");
  }
  if (path == std::string_view::npos) return endpoint + "/v1/traces";
  if (e.substr(path) == "/") return endpoint.substr(0, path) + "/v1/traces";
  return endpoint;
}

int ExportOtlp(std::shared_ptr<Store> store, const SessionId& id, const std::string& policy_path,
               const std::string& output, const std::string& endpoint) {
  const std::string context = "export";
  std::unique_ptr<OtlpPoster> poster;
  if (!endpoint.empty()) {
    auto url = OtlpTracesUrl(endpoint);
    if (!url.ok()) return ReportError(url.status(), context);
    auto p = OtlpPoster::Create(*url);
    if (!p.ok()) return ReportError(p.status(), context);
    poster = std::move(*p);
  }
  ExportSession in;
  if (int rc = OpenExportSession(store, id, policy_path, &in); rc != kExitOk) return rc;
  std::unique_ptr<OutputFile> out;
  std::string lines;  // complete lines waiting to be POSTed
  if (!poster) {
    auto o = OutputFile::Open(output);
    if (!o.ok()) return ReportError(o.status(), context);
    out = std::move(*o);
  }
  std::string* buffer = out ? out->buffer() : &lines;
  OtlpTraceWriter writer(in.info, buffer);
  auto drain = [&]() -> Status {
    if (out) return out->MaybeFlush();
    Status s = poster->PostLines(lines);
    lines.clear();
    return s;
  };
  for (;;) {
    auto next = in.reader->Next();
    if (!next.ok()) return ReportError(next.status(), context);  // a file output is removed
    const Event* e = *next;
    if (e == nullptr) break;
    if (auto m = in.marks.find(e->seq); m != in.marks.end()) {
      OtlpDecision d{DecisionName(m->second.decision), m->second.rule_id};
      writer.AddEvent(*e, &d);
    } else {
      writer.AddEvent(*e);
    }
    if (Status s = drain(); !s.ok()) return ReportError(s, context);
  }
  writer.Finish();
  if (out) {
    Status s = out->Commit();
    return s.ok() ? kExitOk : ReportError(s, context);
  }
  if (Status s = drain(); !s.ok()) return ReportError(s, context);
  std::fprintf(stderr, "agenttrace: export: posted %llu spans in %llu requests to %s\n",
               static_cast<unsigned long long>(writer.spans_written()),
               static_cast<unsigned long long>(poster->requests()), OtlpTracesUrl(endpoint)->c_str());
  return kExitOk;
}

}  // namespace agenttrace
