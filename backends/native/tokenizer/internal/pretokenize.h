// backends/native/tokenizer/internal/pretokenize.h — the regex splits that
// byte-level BPE tokenizers apply before merging, written out by hand over
// Unicode category flags (no regex engine, no ICU).
//
// Each split reproduces what the reference regex matches with Perl/Oniguruma
// semantics (leftmost alternative, greedy, backtracking), which is also what
// llama.cpp's hand-written splitters produce:
//   kGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   kQwen2:  as kLlama3 with \p{N} instead of \p{N}{1,3}
//   kDefault: llama.cpp's fallback chain for BPE files without a known
//            pre-tokenizer: [\p{P}$+<=>^~|]+, then kGpt2, then \p{N}+, then
//            [0-9][0-9][0-9], each splitting the pieces of the one before
//            (a piece is either a match or the text between two matches).
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace edgebench::native::internal {

enum class PreTokenizer { kGpt2, kLlama3, kQwen2, kDefault };

// A half-open range of code point indices.
struct Piece {
  uint32_t begin;
  uint32_t end;
};

// Splits `cpts` into consecutive non-empty pieces that cover it exactly.
// `flags` must hold CodepointFlags() of each code point.
void PreTokenize(PreTokenizer kind, std::span<const uint32_t> cpts,
                 std::span<const uint8_t> flags, std::vector<Piece>& out);

}  // namespace edgebench::native::internal
