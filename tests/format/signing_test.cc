// Signed session heads (format/signing.h) and key files (format/key_file.h): what a signature binds,
// which keys are refused, and that a writer given a key signs the head it completes, so that a store
// rewritten with a recomputed chain still verifies its chain but no longer its signature.
#include "format/signing.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "format/key_file.h"
#include "format/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/format/temp_dir.h"

namespace agenttrace {
namespace {

using ::testing::HasSubstr;

using testing::TempDir;

std::shared_ptr<const SigningKey> Key(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return SigningKey::FromSeed(seed);
}

SessionInfo CompletedInfo() {
  SessionInfo info;
  auto id = SessionId::Parse("0190b5c4-8e1a-7abc-9def-0123456789ab");
  AT_CHECK(id.ok());
  info.id = *id;
  info.label = "task-a";
  info.head_hash.fill(0x5a);
  info.event_count = 42;
  info.chunk_count = 2;
  info.state = SessionState::kComplete;
  info.start_wall_ns = 1700000000000000000;
  info.end_wall_ns = 1700000001000000000;
  info.exit_code = 0;
  return info;
}

TEST(SigningTest, SignatureCoversEveryBoundField) {
  auto key = Key(1);
  SessionInfo info = CompletedInfo();
  SignSessionHead(*key, &info);
  ASSERT_EQ(info.head_signature.size(), kSignatureBytes);
  EXPECT_TRUE(VerifySessionHead(info, key->public_key()).ok());
  EXPECT_EQ(SessionHeadMessage(info).substr(0, kSessionHeadDomain.size() + 1),
            std::string(kSessionHeadDomain) + std::string(1, '\0'));

  const std::vector<std::pair<const char*, std::function<void(SessionInfo*)>>> changes = {
      {"id", [](SessionInfo* i) { i->id.bytes[15] ^= 1; }},
      {"head hash", [](SessionInfo* i) { i->head_hash[0] ^= 1; }},
      {"event count", [](SessionInfo* i) { i->event_count -= 1; }},
      {"chunk count", [](SessionInfo* i) { i->chunk_count += 1; }},
      {"state", [](SessionInfo* i) { i->state = SessionState::kIncomplete; }},
      {"start time", [](SessionInfo* i) { i->start_wall_ns += 1; }},
      {"end time", [](SessionInfo* i) { i->end_wall_ns += 1; }},
      {"exit code", [](SessionInfo* i) { i->exit_code = 1; }},
      {"exit signal", [](SessionInfo* i) { i->exit_signal = 9; }},
      {"label", [](SessionInfo* i) { i->label = "task-b"; }},
  };
  for (const auto& [what, change] : changes) {
    SessionInfo changed = info;
    change(&changed);
    Status st = VerifySessionHead(changed, key->public_key());
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << what;
    EXPECT_THAT(st.message(), HasSubstr("does not match")) << what;
  }
  // Metadata outside the message is not bound (docs/threat-model.md says which).
  SessionInfo relabelled_host = info;
  relabelled_host.host = "elsewhere";
  EXPECT_TRUE(VerifySessionHead(relabelled_host, key->public_key()).ok());
}

TEST(SigningTest, UnsignedAndOtherKeyAndMalformedAreRefused) {
  auto key = Key(1), other = Key(2);
  SessionInfo info = CompletedInfo();
  Status unsigned_st = VerifySessionHead(info, key->public_key());
  EXPECT_EQ(unsigned_st.code(), StatusCode::kCorruption);
  EXPECT_THAT(unsigned_st.message(), HasSubstr("not signed"));

  SignSessionHead(*other, &info);
  Status other_st = VerifySessionHead(info, key->public_key());
  EXPECT_EQ(other_st.code(), StatusCode::kCorruption);
  EXPECT_THAT(other_st.message(), HasSubstr("another key"));

  // A forger who claims our key but cannot sign with it.
  info.signer_key.assign(reinterpret_cast<const char*>(key->public_key().data()), kPublicKeyBytes);
  EXPECT_THAT(VerifySessionHead(info, key->public_key()).message(), HasSubstr("does not match"));

  info.head_signature.resize(10);
  EXPECT_THAT(VerifySessionHead(info, key->public_key()).message(), HasSubstr("malformed"));
}

TEST(SigningTest, GeneratedKeyFilesLoadAndArePrivate) {
  TempDir dir;
  const std::string sk = dir.path() + "/k.key", pk = dir.path() + "/k.pub";
  auto pub = GenerateKeyPair(sk, pk);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(sk.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = SigningKey::Load(sk);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->public_key(), *pub);
  auto loaded_pub = LoadPublicKey(pk);
  ASSERT_TRUE(loaded_pub.ok()) << loaded_pub.status().ToString();
  EXPECT_EQ(*loaded_pub, *pub);
  auto hex_pub = LoadPublicKey(BytesToHex(pub->data(), pub->size()));
  ASSERT_TRUE(hex_pub.ok());
  EXPECT_EQ(*hex_pub, *pub);

  // Never overwritten.
  auto again = GenerateKeyPair(sk, dir.path() + "/other.pub");
  EXPECT_EQ(again.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(SigningKey::Load(sk).ok());

  // The halves are not interchangeable.
  EXPECT_THAT(LoadPublicKey(sk).status().message(), HasSubstr("private key"));
  ASSERT_EQ(::chmod(pk.c_str(), 0600), 0);
  EXPECT_THAT(SigningKey::Load(pk).status().message(), HasSubstr("public key"));

  // A private key others could read is refused, as is a symlink to one.
  ASSERT_EQ(::chmod(sk.c_str(), 0640), 0);
  Status loose = SigningKey::Load(sk).status();
  EXPECT_EQ(loose.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loose.message(), HasSubstr("mode 0640"));
  ASSERT_EQ(::chmod(sk.c_str(), 0600), 0);
  ASSERT_EQ(::symlink(sk.c_str(), (dir.path() + "/link.key").c_str()), 0);
  EXPECT_THAT(SigningKey::Load(dir.path() + "/link.key").status().message(), HasSubstr("symlink"));
}

TEST(SigningTest, CreateKeyFileDoesNotFollowAPlantedSymlink) {
  TempDir dir;
  const std::string victim = dir.path() + "/victim", path = dir.path() + "/planted.key";
  { std::ofstream(victim) << "keep"; }
  ASSERT_EQ(::symlink(victim.c_str(), path.c_str()), 0);
  auto created = CreateKeyFile(path, "secret", "test key");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE(*created);
  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "keep");
}

// The writer signs in the commit that completes the session; the signature survives a reopen, and a
// rewrite of the session with a recomputed chain passes Store::Verify but not the signature check.
TEST(SigningTest, WriterSignsCompletedHeadAndARecomputedChainFailsTheSignature) {
  TempDir dir;
  auto key = Key(7);
  SessionId id;
  {
    auto store = Store::Open(dir.path());
    ASSERT_TRUE(store.ok());
    WriterOptions wo;
    wo.sign_key = key;
    SessionInfo info;
    info.label = "signed";
    auto w = (*store)->CreateSession(info, wo);
    ASSERT_TRUE(w.ok());
    id = (*w)->info().id;
    Event e;
    e.kind = EventKind::kFileOpen;
    e.path = "/etc/shadow";
    ASSERT_TRUE((*w)->Append(e).ok());
    // Metadata updates cannot plant a signature.
    (*w)->UpdateInfo([](SessionInfo* i) { i->head_signature = std::string(64, 'x'); });
    ASSERT_TRUE((*w)->Flush().ok());
    auto mid = (*store)->GetSession(id);
    ASSERT_TRUE(mid.ok());
    EXPECT_TRUE(mid->head_signature.empty());  // not complete, not signed
    ASSERT_TRUE((*w)->Finish(0, 0).ok());
  }
  auto store = Store::Open(dir.path());
  ASSERT_TRUE(store.ok());
  auto v = (*store)->Verify(id);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->ok) << v->problem;
  EXPECT_TRUE(VerifySessionHead(v->record, key->public_key()).ok());

  // The forger's rewrite: the same session id in a fresh store, another event, the chain recomputed by
  // the writer, and the original signature copied into the new record.
  TempDir forged_dir;
  auto forged_store = Store::Open(forged_dir.path());
  ASSERT_TRUE(forged_store.ok());
  SessionInfo forged_info = v->record;
  auto fw = (*forged_store)->CreateSession(forged_info);
  ASSERT_TRUE(fw.ok());
  Event benign;
  benign.kind = EventKind::kFileOpen;
  benign.path = "/tmp/notes.txt";
  ASSERT_TRUE((*fw)->Append(benign).ok());
  (*fw)->UpdateInfo([&](SessionInfo* i) { i->end_wall_ns = v->record.end_wall_ns; });
  ASSERT_TRUE((*fw)->Finish(0, 0).ok());
  fw->reset();
  auto fv = (*forged_store)->Verify(id);
  ASSERT_TRUE(fv.ok());
  EXPECT_TRUE(fv->ok) << fv->problem;  // the chain alone cannot tell
  SessionInfo with_old_signature = fv->record;
  with_old_signature.head_signature = v->record.head_signature;
  with_old_signature.signer_key = v->record.signer_key;
  Status st = VerifySessionHead(with_old_signature, key->public_key());
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("does not match"));
  EXPECT_THAT(VerifySessionHead(fv->record, key->public_key()).message(), HasSubstr("not signed"));
}

}  // namespace
}  // namespace agenttrace
