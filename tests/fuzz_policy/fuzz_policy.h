// The policy fuzz entry, shared by the libFuzzer target and the corpus replay test.
#ifndef AGENTTRACE_TESTS_FUZZ_POLICY_FUZZ_POLICY_H_
#define AGENTTRACE_TESTS_FUZZ_POLICY_FUZZ_POLICY_H_

#include <cstddef>
#include <cstdint>

namespace agenttrace {
void FuzzPolicyOne(const uint8_t* data, size_t size);
}

#endif  // AGENTTRACE_TESTS_FUZZ_POLICY_FUZZ_POLICY_H_
