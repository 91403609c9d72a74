#include "format/status.h"

#include <gtest/gtest.h>

namespace agenttrace {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  AT_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, OkAndErrorsCarryCodeAndContext) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::Corruption("chunk 4: bad checksum").WithContext("session abc");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.ToString(), "Corruption: session abc: chunk 4: bad checksum");
}

TEST(StatusTest, FromErrnoMapsCommonErrors) {
  EXPECT_EQ(Status::FromErrno("open /x", ENOENT).code(), StatusCode::kNotFound);
  EXPECT_EQ(Status::FromErrno("open /x", EACCES).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Status::FromErrno("write", ENOSPC).code(), StatusCode::kResourceExhausted);
  EXPECT_NE(Status::FromErrno("open /x", ENOENT).message().find("open /x: "), std::string::npos);
}

TEST(ResultTest, PropagatesThroughAssignOrReturn) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "3 is odd");
}

TEST(ResultTest, OkStatusWithoutValueBecomesInternalError) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace agenttrace
