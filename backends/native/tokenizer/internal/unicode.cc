#include "backends/native/tokenizer/internal/unicode.h"

#include <algorithm>
#include <array>

namespace edgebench::native::internal {

uint8_t CodepointFlags(uint32_t cpt) {
  if (cpt > 0x10FFFF) return 0;
  // ASCII is most of most prompts: answer it from a small table.
  static const std::array<uint8_t, 128> kAscii = [] {
    std::array<uint8_t, 128> t{};
    size_t r = 0;
    for (uint32_t c = 0; c < 128; ++c) {
      while (r + 1 < kCategoryRangeCount && kCategoryRanges[r + 1].first <= c) ++r;
      t[c] = kCategoryRanges[r].flags;
    }
    return t;
  }();
  if (cpt < 128) return kAscii[cpt];
  const CategoryRange* begin = kCategoryRanges;
  const CategoryRange* end = kCategoryRanges + kCategoryRangeCount;
  const CategoryRange* it = std::upper_bound(
      begin, end, cpt, [](uint32_t c, const CategoryRange& r) { return c < r.first; });
  return it == begin ? 0 : (it - 1)->flags;
}

void DecodeUtf8(std::string_view text, std::vector<uint32_t>& out) {
  out.clear();
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  auto cont = [&](size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  while (i < n) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      i += 1;
    } else if (b >= 0xC0 && b < 0xE0 && cont(1)) {
      out.push_back((uint32_t{b & 0x1Fu} << 6) | (s[i + 1] & 0x3Fu));
      i += 2;
    } else if (b >= 0xE0 && b < 0xF0 && cont(1) && cont(2)) {
      out.push_back((uint32_t{b & 0x0Fu} << 12) | (uint32_t{s[i + 1] & 0x3Fu} << 6) |
                    (s[i + 2] & 0x3Fu));
      i += 3;
    } else if (b >= 0xF0 && b < 0xF8 && cont(1) && cont(2) && cont(3)) {
      const uint32_t c = (uint32_t{b & 0x07u} << 18) |
                         (uint32_t{s[i + 1] & 0x3Fu} << 12) |
                         (uint32_t{s[i + 2] & 0x3Fu} << 6) | (s[i + 3] & 0x3Fu);
      // Past U+10FFFF there is no UTF-8 to write back; llama.cpp throws here.
      out.push_back(c <= 0x10FFFF ? c : kReplacementChar);
      i += 4;
    } else {
      out.push_back(kReplacementChar);
      i += 1;
    }
  }
}

void AppendUtf8(uint32_t cpt, std::string& out) {
  if (cpt > 0x10FFFF) cpt = kReplacementChar;
  if (cpt < 0x80) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cpt >> 6)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cpt >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cpt >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  }
}

namespace {

// Bytes that are printable Latin-1 keep their code point; the remaining 68
// take U+0100, U+0101, ... in byte order (the mapping of GPT-2's encoder.py).
bool KeepsItsCodepoint(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Gpt2Tables {
  std::array<uint32_t, 256> to_cpt{};
  std::array<int16_t, 0x144> to_byte{};  // every mapped code point is < U+0144
};

const Gpt2Tables& Tables() {
  static const Gpt2Tables t = [] {
    Gpt2Tables r;
    r.to_byte.fill(-1);
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      r.to_cpt[b] = KeepsItsCodepoint(b) ? static_cast<uint32_t>(b) : next++;
      r.to_byte[r.to_cpt[b]] = static_cast<int16_t>(b);
    }
    return r;
  }();
  return t;
}

}  // namespace

uint32_t ByteToGpt2Codepoint(uint8_t byte) { return Tables().to_cpt[byte]; }

int Gpt2CodepointToByte(uint32_t cpt) {
  return cpt < Tables().to_byte.size() ? Tables().to_byte[cpt] : -1;
}

}  // namespace edgebench::native::internal
