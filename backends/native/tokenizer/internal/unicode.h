// backends/native/tokenizer/internal/unicode.h — the few Unicode facts the
// tokenizers need: UTF-8 decoding the way llama.cpp does it, category flags
// of a code point (from the generated unicode_data.cc), and GPT-2's
// byte-to-character mapping.
//
// Thread-safety: stateless functions over constant tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edgebench::native::internal {

// Flag bits of a code point; a code point has at most one category bit and
// may also have kWhitespace. Unassigned code points have no bit.
enum : uint8_t {
  kLetter = 0x01,       // \p{L}
  kNumber = 0x02,       // \p{N}
  kMark = 0x04,         // \p{M}
  kPunctuation = 0x08,  // \p{P}
  kSymbol = 0x10,       // \p{S}
  kSeparator = 0x20,    // \p{Z}
  kOther = 0x40,        // Cc, Cf, Co, Cs
  kWhitespace = 0x80,   // the White_Space property
};

struct CategoryRange {
  uint32_t first;
  uint8_t flags;
};
extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRangeCount;

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Flags of `cpt` (0 past U+10FFFF).
uint8_t CodepointFlags(uint32_t cpt);

// Length of the UTF-8 sequence that `lead` starts, from its high bits alone
// (1 for a stray continuation byte), as llama.cpp splits text into symbols.
inline size_t Utf8SeqLen(uint8_t lead) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

// Decodes `text` into code points. A malformed sequence becomes U+FFFD and
// consumes one byte, as in llama.cpp (which also accepts overlong forms).
void DecodeUtf8(std::string_view text, std::vector<uint32_t>& out);

// Appends the UTF-8 form of `cpt` (U+FFFD for values past U+10FFFF).
void AppendUtf8(uint32_t cpt, std::string& out);

// GPT-2's byte-level alphabet: every byte maps to a printable code point
// (printable Latin-1 bytes to themselves, the others to U+0100 and up).
uint32_t ByteToGpt2Codepoint(uint8_t byte);
// The inverse; -1 for a code point outside the alphabet.
int Gpt2CodepointToByte(uint32_t cpt);

}  // namespace edgebench::native::internal
