#include "backends/native/tokenizer/internal/pretokenize.h"

#include <algorithm>

#include "backends/native/tokenizer/internal/unicode.h"

namespace edgebench::native::internal {
namespace {

constexpr uint32_t kNone = 0xFFFFFFFF;  // "past the end of the piece"

bool IsLetter(uint8_t f) { return (f & kLetter) != 0; }
bool IsNumber(uint8_t f) { return (f & kNumber) != 0; }
bool IsSpace(uint8_t f) { return (f & kWhitespace) != 0; }
// [^\s\p{L}\p{N}] for a code point inside the piece.
bool IsOther(uint8_t f) { return (f & (kWhitespace | kLetter | kNumber)) == 0; }
bool IsNewline(uint32_t c) { return c == '\r' || c == '\n'; }

// Reads one piece of the text; positions past its end read as "nothing", so
// a lookahead never sees the neighbouring piece.
class Cursor {
 public:
  Cursor(std::span<const uint32_t> cpts, std::span<const uint8_t> flags, Piece piece)
      : cpts_(cpts), flags_(flags), end_(piece.end) {}

  bool In(size_t i) const { return i < end_; }
  uint32_t Cpt(size_t i) const { return In(i) ? cpts_[i] : kNone; }
  uint8_t Flags(size_t i) const { return In(i) ? flags_[i] : 0; }
  size_t end() const { return end_; }

  // First position at or after `i` whose flags fail `pred`.
  template <typename Pred>
  size_t RunEnd(size_t i, Pred pred) const {
    while (In(i) && pred(flags_[i])) ++i;
    return i;
  }

  // Length of 's 't 're 've 'm 'll 'd at `i`, or 0.
  size_t Contraction(size_t i, bool ignore_case) const {
    if (Cpt(i) != '\'' || !In(i + 1)) return 0;
    auto lower = [&](uint32_t c) {
      return ignore_case && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    };
    const uint32_t a = lower(Cpt(i + 1));
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    const uint32_t b = lower(Cpt(i + 2));
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
      return 3;
    return 0;
  }

  // \s+(?!\S) falling back to \s+, for a whitespace run starting at `i`: a
  // run followed by a non-space gives its last character to what follows.
  size_t SpaceRunEnd(size_t i) const {
    const size_t r = RunEnd(i, IsSpace);
    return (In(r) && r - i > 1) ? r - 1 : r;
  }

 private:
  std::span<const uint32_t> cpts_;
  std::span<const uint8_t> flags_;
  size_t end_;
};

void SplitGpt2(const Cursor& c, size_t begin, std::vector<Piece>& out) {
  for (size_t i = begin; i < c.end();) {
    size_t j;
    if (const size_t n = c.Contraction(i, /*ignore_case=*/false)) {
      j = i + n;
    } else {
      // ` ?` belongs to the word only when a word follows.
      const size_t k = (c.Cpt(i) == ' ' && c.In(i + 1)) ? i + 1 : i;
      const uint8_t f = c.Flags(k);
      if (IsLetter(f)) {
        j = c.RunEnd(k, IsLetter);
      } else if (IsNumber(f)) {
        j = c.RunEnd(k, IsNumber);
      } else if (IsOther(f)) {
        j = c.RunEnd(k, IsOther);
      } else {
        j = c.SpaceRunEnd(i);
      }
    }
    out.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(j)});
    i = j;
  }
}

// kLlama3 with max_digits 3, kQwen2 with 1.
void SplitLlama3(const Cursor& c, size_t begin, size_t max_digits,
                 std::vector<Piece>& out) {
  for (size_t i = begin; i < c.end();) {
    const uint32_t cpt = c.Cpt(i);
    const uint8_t f = c.Flags(i);
    size_t j;
    if (const size_t n = c.Contraction(i, /*ignore_case=*/true)) {
      j = i + n;
    } else if (IsLetter(f)) {
      j = c.RunEnd(i, IsLetter);
    } else if (!IsNewline(cpt) && !IsNumber(f) && IsLetter(c.Flags(i + 1))) {
      // [^\r\n\p{L}\p{N}]?\p{L}+ with the optional character present.
      j = c.RunEnd(i + 1, IsLetter);
    } else if (IsNumber(f)) {
      j = std::min(c.RunEnd(i, IsNumber), i + max_digits);
    } else {
      const size_t k = (cpt == ' ' && c.In(i + 1)) ? i + 1 : i;
      if (IsOther(c.Flags(k))) {
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        j = c.RunEnd(k, IsOther);
        while (IsNewline(c.Cpt(j))) ++j;
      } else {
        // Whitespace. `\s*[\r\n]+` backtracks to the run's last newline;
        // without one, `\s+(?!\S)` and `\s+` decide.
        const size_t r = c.RunEnd(i, IsSpace);
        size_t last_newline = kNone;
        for (size_t p = i; p < r; ++p) {
          if (IsNewline(c.Cpt(p))) last_newline = p;
        }
        j = last_newline != kNone ? last_newline + 1 : c.SpaceRunEnd(i);
      }
    }
    out.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(j)});
    i = j;
  }
}

// Each piece becomes its maximal runs of `match` and the gaps between them.
template <typename Match>
void SplitRuns(std::span<const uint32_t> cpts, std::span<const uint8_t> flags,
               const std::vector<Piece>& in, Match match, std::vector<Piece>& out) {
  for (const Piece& p : in) {
    uint32_t start = p.begin;
    for (uint32_t i = p.begin + 1; i <= p.end; ++i) {
      if (i == p.end || match(cpts[i], flags[i]) != match(cpts[start], flags[start])) {
        out.push_back({start, i});
        start = i;
      }
    }
  }
}

bool IsAsciiDigit(uint32_t c) { return c >= '0' && c <= '9'; }

// [0-9][0-9][0-9]: leftmost non-overlapping triples, and the gaps.
void SplitDigitTriples(std::span<const uint32_t> cpts, const std::vector<Piece>& in,
                       std::vector<Piece>& out) {
  for (const Piece& p : in) {
    uint32_t gap = p.begin;
    uint32_t i = p.begin;
    while (i + 3 <= p.end) {
      if (IsAsciiDigit(cpts[i]) && IsAsciiDigit(cpts[i + 1]) &&
          IsAsciiDigit(cpts[i + 2])) {
        if (gap < i) out.push_back({gap, i});
        out.push_back({i, i + 3});
        i += 3;
        gap = i;
      } else {
        ++i;
      }
    }
    if (gap < p.end) out.push_back({gap, p.end});
  }
}

}  // namespace

void PreTokenize(PreTokenizer kind, std::span<const uint32_t> cpts,
                 std::span<const uint8_t> flags, std::vector<Piece>& out) {
  out.clear();
  if (cpts.empty()) return;
  const Piece all{0, static_cast<uint32_t>(cpts.size())};
  switch (kind) {
    case PreTokenizer::kGpt2:
      SplitGpt2(Cursor(cpts, flags, all), 0, out);
      return;
    case PreTokenizer::kLlama3:
      SplitLlama3(Cursor(cpts, flags, all), 0, 3, out);
      return;
    case PreTokenizer::kQwen2:
      SplitLlama3(Cursor(cpts, flags, all), 0, 1, out);
      return;
    case PreTokenizer::kDefault: {
      std::vector<Piece> a, b;
      // [\p{P}\$\+<=>\^~\|]+ — punctuation plus some ASCII symbols (not `).
      auto punct = [](uint32_t c, uint8_t f) {
        return (f & kPunctuation) != 0 || c == '$' || c == '+' || c == '<' || c == '=' ||
               c == '>' || c == '^' || c == '~' || c == '|';
      };
      SplitRuns(cpts, flags, {all}, punct, a);
      for (const Piece& p : a) SplitGpt2(Cursor(cpts, flags, p), p.begin, b);
      a.clear();
      SplitRuns(
          cpts, flags, b, [](uint32_t, uint8_t f) { return IsNumber(f); }, a);
      SplitDigitTriples(cpts, a, out);
      return;
    }
  }
}

}  // namespace edgebench::native::internal
