// backends/native/tokenizer/tokenizer_testing.h — what the tokenizer tests
// share: where their data lives, the texts every reference is asked about,
// and building a Tokenizer from metadata written with GgufWriter.
//
// Thread-safety: functions without shared state.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/native/gguf/gguf.h"
#include "backends/native/tokenizer/tokenizer.h"
#include "base/status.h"

namespace edgebench::native::testing {

// backends/native/tokenizer, backends/native/vocab and tests/tokenizer in the
// source tree (absolute; the tests do not depend on their working folder).
std::string TokenizerDir();
std::string VocabDir();
std::string NpmDir();

// Texts that probe a tokenizer's edges: whitespace runs and mixes, newlines,
// digits and long numbers, contractions, scripts of many kinds (CJK, RTL,
// Indic, combining marks, emoji sequences), characters a small vocabulary
// lacks, code, and special-token look-alikes. All valid UTF-8.
struct TestText {
  std::string category;
  std::string text;
};
std::vector<TestText> EdgeCaseTexts();

// Non-empty lines of a file.
std::vector<std::string> ReadLines(const std::string& path);

// Writes `w` (metadata only) to memory and builds a tokenizer from it; `name`
// stands for the file in error messages.
Result<std::unique_ptr<Tokenizer>> TokenizerFromWriter(const gguf::GgufWriter& w,
                                                       const std::string& name);

// "[1, 2, 3]" for failure messages.
std::string IdsToString(const std::vector<int32_t>& ids);

// Double-quoted with escapes, for failure messages.
std::string Escape(const std::string& s);

}  // namespace edgebench::native::testing
