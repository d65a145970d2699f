#include "backends/native/tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <queue>
#include <tuple>
#include <utility>

#include "backends/native/tokenizer/internal/pretokenize.h"
#include "backends/native/tokenizer/internal/unicode.h"

namespace edgebench::native {

using internal::PreTokenizer;

namespace {

constexpr std::string_view kKeyModel = "tokenizer.ggml.model";
constexpr std::string_view kKeyPre = "tokenizer.ggml.pre";
constexpr std::string_view kKeyTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kKeyScores = "tokenizer.ggml.scores";
constexpr std::string_view kKeyTypes = "tokenizer.ggml.token_type";
constexpr std::string_view kKeyMerges = "tokenizer.ggml.merges";
constexpr std::string_view kKeyAddBos = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kKeyAddEos = "tokenizer.ggml.add_eos_token";
constexpr std::string_view kKeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix";

constexpr std::string_view kSpaceEscape = "\xE2\x96\x81";  // "▁", U+2581

// The pre-tokenizer names llama.cpp knows whose split we implement, and what
// else each name implies there.
struct PreInfo {
  std::string_view name;
  PreTokenizer kind;
  bool ignore_merges;  // a word that is itself a token skips merging
  bool add_bos;        // default of add_bos_token
};
constexpr PreInfo kPreTable[] = {
    {"default", PreTokenizer::kDefault, false, false},
    {"gpt-2", PreTokenizer::kGpt2, false, false},
    {"gpt2", PreTokenizer::kGpt2, false, false},  // not llama.cpp's name; an alias
    {"phi-2", PreTokenizer::kGpt2, false, false},
    {"mpt", PreTokenizer::kGpt2, false, false},
    {"olmo", PreTokenizer::kGpt2, false, false},
    {"jais", PreTokenizer::kGpt2, false, false},
    {"exaone4", PreTokenizer::kGpt2, false, false},
    {"trillion", PreTokenizer::kGpt2, false, false},
    {"granite-docling", PreTokenizer::kGpt2, false, false},
    {"llama3", PreTokenizer::kLlama3, true, true},
    {"llama-v3", PreTokenizer::kLlama3, true, true},
    {"llama-bpe", PreTokenizer::kLlama3, true, true},
    {"falcon3", PreTokenizer::kLlama3, true, true},
    {"falcon-h1", PreTokenizer::kLlama3, true, true},
    {"pixtral", PreTokenizer::kLlama3, true, true},
    {"midm-2.0", PreTokenizer::kLlama3, true, true},
    {"lfm2", PreTokenizer::kLlama3, true, true},
    {"dbrx", PreTokenizer::kLlama3, false, false},
    {"smaug-bpe", PreTokenizer::kLlama3, false, false},
    {"qwen2", PreTokenizer::kQwen2, false, false},
    {"deepseek-r1-qwen", PreTokenizer::kQwen2, false, false},
    {"megrez", PreTokenizer::kQwen2, false, false},
    {"stablelm2", PreTokenizer::kQwen2, false, false},
    {"hunyuan", PreTokenizer::kQwen2, false, false},
    {"grok-2", PreTokenizer::kQwen2, false, false},
};

// Token texts that llama.cpp treats as control tokens with a role whatever
// the file's token type says (llama-vocab.cpp, "auto-detect special tokens").
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // <｜end▁of▁sentence｜>
    "<end_of_utterance>"};
constexpr std::string_view kEomTexts[] = {"<|eom_id|>"};
constexpr std::string_view kFimEogTexts[] = {  // fim_pad, fim_rep, fim_sep
    "<|fim_pad|>", "<fim-pad>",    "<fim_pad>",     "<PAD>",
    "[PAD]",       "<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
    "<REPO>",      "<reponame>",   "<|file_sep|>"};
constexpr std::string_view kFimOtherTexts[] = {  // fim_pre, fim_suf, fim_mid
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<PRE>",
    "\xE2\x96\x81<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<SUF>",
    "\xE2\x96\x81<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<MID>",
    "\xE2\x96\x81<MID>",
    "<|code_middle|>",
    "<|middle|>",
    "<\xEF\xBD\x9C"
    "fim\xE2\x96\x81"
    "begin\xEF\xBD\x9C>",  // <｜fim▁begin｜>
    "<\xEF\xBD\x9C"
    "fim\xE2\x96\x81hole\xEF\xBD\x9C>",  // <｜fim▁hole｜>
    "<\xEF\xBD\x9C"
    "fim\xE2\x96\x81"
    "end\xEF\xBD\x9C>"};  // <｜fim▁end｜>
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "[e~["};

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 48)) {
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + (s.size() > 48 ? "…\"" : "\"");
}

Status KeyError(const gguf::GgufFile& f, std::string_view key, const std::string& what) {
  return InvalidArgumentError(f.path() + ": metadata \"" + std::string(key) + "\" " +
                              what);
}

// "<0xAB>" -> 0xAB, -1 for anything else.
int ParseByteToken(std::string_view text) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = hex(text[3]), lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string ByteTokenText(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

}  // namespace

// ---- special tokens in the text ----

namespace internal {

// Finds control, user-defined and unknown-type tokens written in a text, the
// way llama.cpp's tokenizer_st_partition does: tokens are taken longest
// first (ties: lower id first), each one's occurrences left to right, skipping
// any occurrence that overlaps a token already taken. A trie finds every
// occurrence in one pass, so the cost does not grow with the number of
// special tokens.
class SpecialMatcher {
 public:
  struct Match {
    uint32_t begin, end;
    int32_t id;
  };

  // `tokens`: (id, text, always) where `always` marks user-defined tokens,
  // matched even when special tokens are not parsed.
  explicit SpecialMatcher(
      std::vector<std::tuple<int32_t, std::string_view, bool>> tokens) {
    std::stable_sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) {
      return std::get<1>(a).size() > std::get<1>(b).size();
    });
    nodes_.push_back(-1);
    for (size_t rank = 0; rank < tokens.size(); ++rank) {
      const auto& [id, text, always] = tokens[rank];
      ids_.push_back(id);
      always_.push_back(always);
      int32_t node = 0;
      for (unsigned char c : text) {
        const uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
        auto it = edges_.find(key);
        if (it == edges_.end()) {
          it = edges_.emplace(key, static_cast<int32_t>(nodes_.size())).first;
          nodes_.push_back(-1);
        }
        node = it->second;
      }
      if (nodes_[node] < 0) nodes_[node] = static_cast<int32_t>(rank);
      first_byte_[static_cast<unsigned char>(text[0])] = true;
    }
  }

  bool empty() const { return ids_.empty(); }

  // The occurrences taken, in text order.
  std::vector<Match> Find(std::string_view text, bool parse_special) const {
    struct Hit {
      int32_t rank;
      uint32_t begin, end;
    };
    std::vector<Hit> hits;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t pos = 0; pos < text.size(); ++pos) {
      if (!first_byte_[s[pos]]) continue;
      int32_t node = 0;
      for (size_t k = pos; k < text.size(); ++k) {
        auto it = edges_.find((static_cast<uint64_t>(node) << 8) | s[k]);
        if (it == edges_.end()) break;
        node = it->second;
        const int32_t rank = nodes_[node];
        if (rank >= 0 && (parse_special || always_[rank])) {
          hits.push_back(
              {rank, static_cast<uint32_t>(pos), static_cast<uint32_t>(k + 1)});
        }
      }
    }
    std::vector<Match> taken;
    if (hits.empty()) return taken;
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
      return a.rank != b.rank ? a.rank < b.rank : a.begin < b.begin;
    });
    std::vector<bool> used(text.size(), false);
    for (const Hit& h : hits) {
      bool free = true;
      for (uint32_t i = h.begin; i < h.end && free; ++i) free = !used[i];
      if (!free) continue;
      for (uint32_t i = h.begin; i < h.end; ++i) used[i] = true;
      taken.push_back({h.begin, h.end, ids_[h.rank]});
    }
    std::sort(taken.begin(), taken.end(),
              [](const Match& a, const Match& b) { return a.begin < b.begin; });
    return taken;
  }

 private:
  std::vector<int32_t> nodes_;                   // node -> rank of the token ending here
  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> node
  bool first_byte_[256] = {};
  std::vector<int32_t> ids_;  // rank -> token id
  std::vector<bool> always_;  // rank -> user-defined
};

}  // namespace internal

struct Tokenizer::Fragment {
  int32_t id;  // a special token, or -1 for text
  uint32_t begin, end;
};

Tokenizer::Tokenizer() { std::fill(std::begin(byte_token_), std::end(byte_token_), -1); }
Tokenizer::~Tokenizer() = default;

// ---- loading ----

Result<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const gguf::GgufFile& file) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  RETURN_IF_ERROR(t->Load(file));
  return t;
}

Status Tokenizer::Load(const gguf::GgufFile& file) {
  ASSIGN_OR_RETURN(std::string_view model, file.GetString(kKeyModel));
  model_ = std::string(model);
  if (model_ == "llama") {
    kind_ = Model::kSpm;
  } else if (model_ == "gpt2") {
    kind_ = Model::kBpe;
  } else {
    return KeyError(
        file, kKeyModel,
        "is " + Quote(model_) + ": unknown tokenizer model (known: \"llama\", \"gpt2\")");
  }

  std::string_view pre = "default";
  if (file.Find(kKeyPre)) {
    ASSIGN_OR_RETURN(pre, file.GetString(kKeyPre));
  }
  pre_ = std::string(pre);
  if (kind_ == Model::kBpe) {
    const PreInfo* info = nullptr;
    for (const PreInfo& p : kPreTable) {
      if (p.name == pre_) info = &p;
    }
    if (!info) {
      return KeyError(file, kKeyPre, "is " + Quote(pre_) + ": unknown pre-tokenizer");
    }
    pre_kind_ = info->kind;
    ignore_merges_ = info->ignore_merges;
    add_bos_ = info->add_bos;
    add_space_prefix_ = false;
  } else {
    add_bos_ = true;
    ASSIGN_OR_RETURN(add_space_prefix_, file.GetBool(kKeyAddSpacePrefix, true));
  }
  ASSIGN_OR_RETURN(add_bos_, file.GetBool(kKeyAddBos, add_bos_));
  ASSIGN_OR_RETURN(add_eos_, file.GetBool(kKeyAddEos, false));

  RETURN_IF_ERROR(LoadTokens(file));
  if (kind_ == Model::kBpe) RETURN_IF_ERROR(LoadMerges(file));
  RETURN_IF_ERROR(LoadSpecialIds(file));
  FindEogTokens();

  if (add_bos_ && bos_ < 0) {
    return KeyError(file, kKeyAddBos, "asks for a BOS token but the file has none");
  }
  if (add_eos_ && eos_ < 0) {
    return KeyError(file, kKeyAddEos, "asks for an EOS token but the file has none");
  }

  for (int b = 0; b < 256; ++b) {
    if (kind_ == Model::kSpm) {
      // llama.cpp falls back to a token that is the bare byte.
      byte_token_[b] = FindToken(ByteTokenText(static_cast<uint8_t>(b)));
      if (byte_token_[b] < 0)
        byte_token_[b] = FindToken(std::string(1, static_cast<char>(b)));
    } else {
      std::string ch;
      internal::AppendUtf8(internal::ByteToGpt2Codepoint(static_cast<uint8_t>(b)), ch);
      byte_token_[b] = FindToken(ch);
    }
  }

  std::vector<std::tuple<int32_t, std::string_view, bool>> specials;
  for (int32_t id = 0; id < n_vocab(); ++id) {
    const TokenType t = types_[id];
    if (t == TokenType::kControl || t == TokenType::kUnknown ||
        t == TokenType::kUserDefined) {
      specials.emplace_back(id, texts_[id], t == TokenType::kUserDefined);
    }
  }
  special_ = std::make_unique<internal::SpecialMatcher>(std::move(specials));
  return Status::Ok();
}

Status Tokenizer::LoadTokens(const gguf::GgufFile& file) {
  const gguf::MetaValue* tokens = file.Find(kKeyTokens);
  if (!tokens) {
    return NotFoundError(file.path() + ": metadata \"" + std::string(kKeyTokens) +
                         "\" is missing: the file has no vocabulary");
  }
  if (!tokens->is_array() || tokens->array_type() != gguf::ValueType::kString) {
    return KeyError(file, kKeyTokens,
                    "is " + tokens->ToDisplayString() + ", expected an array of strings");
  }
  const auto& strings = tokens->strings();
  if (strings.empty()) return KeyError(file, kKeyTokens, "is empty");
  if (strings.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2)) {
    return KeyError(file, kKeyTokens, "has too many tokens");
  }
  const size_t n = strings.size();

  // llama.cpp renames empty entries so that they stay distinct.
  std::vector<std::string> renamed(n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (strings[i].empty()) renamed[i] = "[EMPTY_" + std::to_string(i) + "]";
    total += strings[i].empty() ? renamed[i].size() : strings[i].size();
  }
  arena_.reserve(total);
  std::vector<size_t> offsets(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    arena_ += strings[i].empty() ? std::string_view(renamed[i]) : strings[i];
    offsets[i + 1] = arena_.size();
  }
  texts_.resize(n);
  ids_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    texts_[i] = std::string_view(arena_).substr(offsets[i], offsets[i + 1] - offsets[i]);
    auto [it, inserted] = ids_.emplace(texts_[i], static_cast<int32_t>(i));
    if (!inserted) {
      return KeyError(file, kKeyTokens,
                      "has " + Quote(texts_[i]) + " twice, at ids " +
                          std::to_string(it->second) + " and " + std::to_string(i));
    }
  }

  types_.assign(n, TokenType::kNormal);
  if (const gguf::MetaValue* v = file.Find(kKeyTypes)) {
    std::optional<std::vector<int64_t>> types;
    if (v->is_array()) types = v->IntArray();
    if (!types) {
      return KeyError(file, kKeyTypes,
                      "is " + v->ToDisplayString() + ", expected an array of integers");
    }
    if (types->size() != n) {
      return KeyError(file, kKeyTypes,
                      "has " + std::to_string(types->size()) + " entries for " +
                          std::to_string(n) + " tokens");
    }
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = (*types)[i];
      if (t < 0 || t > static_cast<int64_t>(TokenType::kByte)) {
        return KeyError(file, kKeyTypes,
                        "[" + std::to_string(i) + "] is " + std::to_string(t) +
                            ", not a token type (0..6)");
      }
      types_[i] = static_cast<TokenType>(t);
      if (types_[i] == TokenType::kByte && ParseByteToken(texts_[i]) < 0) {
        return KeyError(file, kKeyTypes,
                        "[" + std::to_string(i) + "] marks " + Quote(texts_[i]) +
                            " as a byte token, which must be written <0xXX>");
      }
    }
  }

  if (const gguf::MetaValue* v = file.Find(kKeyScores)) {
    std::optional<std::vector<float>> scores;
    if (v->is_array()) scores = v->FloatArray();
    if (!scores) {
      return KeyError(file, kKeyScores,
                      "is " + v->ToDisplayString() + ", expected an array of numbers");
    }
    if (scores->size() != n) {
      return KeyError(file, kKeyScores,
                      "has " + std::to_string(scores->size()) + " entries for " +
                          std::to_string(n) + " tokens");
    }
    scores_ = std::move(*scores);
  }
  return Status::Ok();
}

Status Tokenizer::LoadMerges(const gguf::GgufFile& file) {
  const gguf::MetaValue* v = file.Find(kKeyMerges);
  if (!v) {
    return NotFoundError(file.path() + ": metadata \"" + std::string(kKeyMerges) +
                         "\" is missing: a gpt2 tokenizer needs its BPE merges");
  }
  if (!v->is_array() || v->array_type() != gguf::ValueType::kString) {
    return KeyError(file, kKeyMerges,
                    "is " + v->ToDisplayString() + ", expected an array of strings");
  }
  const auto& merges = v->strings();
  merges_.reserve(merges.size());
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string_view m = merges[i];
    // As llama.cpp: the separator is the first space after the first byte,
    // so a left part may itself start with a space.
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    const std::string where = "[" + std::to_string(i) + "] " + Quote(m);
    if (sp == std::string_view::npos) {
      return KeyError(file, kKeyMerges,
                      where + " is not two tokens separated by a space");
    }
    const std::string_view left = m.substr(0, sp), right = m.substr(sp + 1);
    const int32_t l = FindToken(left), r = FindToken(right);
    if (l < 0 || r < 0) {
      return KeyError(file, kKeyMerges,
                      where + " names " + Quote(l < 0 ? left : right) +
                          ", which is not in " + std::string(kKeyTokens));
    }
    joined.assign(left);
    joined += right;
    const uint64_t key = (static_cast<uint64_t>(l) << 32) | static_cast<uint32_t>(r);
    // The first rank of a repeated merge wins, as in llama.cpp.
    merges_.emplace(key, MergeResult{static_cast<int32_t>(i), FindToken(joined)});
  }
  return Status::Ok();
}

Status Tokenizer::LoadSpecialIds(const gguf::GgufFile& file) {
  if (kind_ == Model::kSpm) {
    // SentencePiece's fixed ids, when the vocabulary is that large.
    unk_ = n_vocab() > 0 ? 0 : -1;
    bos_ = n_vocab() > 1 ? 1 : -1;
    eos_ = n_vocab() > 2 ? 2 : -1;
  }
  int32_t fim_pad = -1, fim_rep = -1, fim_sep = -1;
  const std::pair<std::string_view, int32_t*> keys[] = {
      {"tokenizer.ggml.bos_token_id", &bos_},
      {"tokenizer.ggml.eos_token_id", &eos_},
      {"tokenizer.ggml.eot_token_id", &eot_},
      {"tokenizer.ggml.eom_token_id", &eom_},
      {"tokenizer.ggml.unknown_token_id", &unk_},
      {"tokenizer.ggml.padding_token_id", &pad_},
      {"tokenizer.ggml.fim_pad_token_id", &fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &fim_sep},
  };
  for (const auto& [key, id] : keys) {
    if (!file.Find(key)) continue;
    ASSIGN_OR_RETURN(int64_t v, file.GetInt(key));
    if (v < 0 || v >= n_vocab()) {
      return KeyError(file, key,
                      "is " + std::to_string(v) + ", outside the vocabulary of " +
                          std::to_string(n_vocab()) + " tokens");
    }
    *id = static_cast<int32_t>(v);
  }
  for (int32_t id : {fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) eog_.push_back(id);
  }
  return Status::Ok();
}

void Tokenizer::FindEogTokens() {
  auto make_control = [&](int32_t id) {
    if (id >= 0) types_[id] = TokenType::kControl;
  };
  // First match in list order, so that the choice does not depend on hashing.
  auto first_of = [&](std::span<const std::string_view> texts) {
    for (std::string_view t : texts) {
      if (int32_t id = FindToken(t); id >= 0) return id;
    }
    return -1;
  };
  if (eot_ < 0) eot_ = first_of(kEotTexts);
  make_control(eot_);
  if (eom_ < 0) eom_ = first_of(kEomTexts);
  make_control(eom_);
  for (std::string_view t : kFimOtherTexts) make_control(FindToken(t));
  for (std::string_view t : kFimEogTexts) {
    const int32_t id = FindToken(t);
    make_control(id);
    if (id >= 0) eog_.push_back(id);
  }
  for (std::string_view t : kEogTexts) {
    const int32_t id = FindToken(t);
    make_control(id);
    if (id >= 0) eog_.push_back(id);
  }
  // gpt-oss renders these channel markers always (llama.cpp's "quick hack").
  for (std::string_view t :
       {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    if (int32_t id = FindToken(t); id >= 0) types_[id] = TokenType::kUserDefined;
  }
  for (int32_t id : {eos_, eot_, eom_}) {
    if (id >= 0) eog_.push_back(id);
  }
  std::sort(eog_.begin(), eog_.end());
  eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());

  // Where "<|end|>" only ends a message and "<|return|>"/"<|call|>" (gpt-oss)
  // or "<|calls|>"/"<|flush|>" (solar-open) end the turn, "<|end|>" is not
  // an end of generation; and Gemma 4's "</s>" is text. As llama.cpp.
  auto in_eog = [&](std::string_view text) {
    const int32_t id = FindToken(text);
    return id >= 0 && IsEog(id) ? id : -1;
  };
  auto drop = [&](int32_t id, TokenType as) {
    eog_.erase(std::remove(eog_.begin(), eog_.end(), id), eog_.end());
    types_[id] = as;
  };
  const int32_t end = in_eog("<|end|>");
  if (end >= 0 && ((in_eog("<|return|>") >= 0 && in_eog("<|call|>") >= 0) ||
                   (in_eog("<|calls|>") >= 0 && in_eog("<|flush|>") >= 0))) {
    drop(end, TokenType::kUserDefined);
  }
  const int32_t s_end = in_eog("</s>");
  if (s_end >= 0 && in_eog("<|tool_response>") >= 0) drop(s_end, TokenType::kNormal);
}

// ---- lookups ----

int32_t Tokenizer::FindToken(std::string_view text) const {
  auto it = ids_.find(text);
  return it == ids_.end() ? -1 : it->second;
}

bool Tokenizer::IsEog(int32_t id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

const Tokenizer::MergeResult* Tokenizer::FindMerge(int32_t left, int32_t right) const {
  auto it =
      merges_.find((static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right));
  return it == merges_.end() ? nullptr : &it->second;
}

// ---- encoding ----

std::vector<Tokenizer::Fragment> Tokenizer::Partition(std::string_view text,
                                                      bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  uint32_t at = 0;
  for (const auto& m : special_->Find(text, parse_special)) {
    if (m.begin > at) frags.push_back({-1, at, m.begin});
    frags.push_back({m.id, m.begin, m.end});
    at = m.end;
  }
  if (at < text.size()) frags.push_back({-1, at, static_cast<uint32_t>(text.size())});
  return frags;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  // Offsets are 32-bit and the escaped text may triple in size.
  if (text.size() >= (size_t{1} << 30)) return out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && add_bos_) out.push_back(bos_);
  // Each text fragment after a special token gets the dummy prefix again, as
  // SentencePiece tokenizes the pieces between special tokens separately.
  bool after_special = true;
  std::string escaped;
  for (const Fragment& f : Partition(text, parse_special)) {
    if (f.id >= 0) {
      out.push_back(f.id);
      after_special = true;
      continue;
    }
    const std::string_view piece = text.substr(f.begin, f.end - f.begin);
    if (kind_ == Model::kSpm) {
      escaped.clear();
      if (add_space_prefix_ && after_special) escaped += kSpaceEscape;
      for (char c : piece) {
        if (c == ' ') {
          escaped += kSpaceEscape;
        } else {
          escaped += c;
        }
      }
      EncodeSpm(escaped, out);
    } else {
      EncodeBpe(piece, out);
    }
    after_special = false;
  }
  if (add_special && add_eos_) out.push_back(eos_);
  return out;
}

namespace {

struct Symbol {
  int32_t prev;
  int32_t next;
  uint32_t start;
  uint32_t n;  // bytes; 0 once merged into its left neighbour
  int32_t id;  // BPE: the token of the symbol's text, -1 if none
};

}  // namespace

void Tokenizer::EncodeSpm(std::string_view text, std::vector<int32_t>& out) const {
  // Hot spot for llama models: one pass of merges over the whole fragment.
  std::vector<Symbol> sym;
  sym.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min(internal::Utf8SeqLen(static_cast<uint8_t>(text[off])),
                                text.size() - off);
    const int32_t i = static_cast<int32_t>(sym.size());
    sym.push_back({i - 1, off + len < text.size() ? i + 1 : -1,
                   static_cast<uint32_t>(off), static_cast<uint32_t>(len), -1});
    off += len;
  }

  struct Bigram {
    float score;
    int32_t left, right;
    uint32_t size;
  };
  // Highest score first; on a tie, the leftmost pair (SentencePiece's order).
  auto lower = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(lower)> queue(lower);
  auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const uint32_t size = sym[l].n + sym[r].n;
    const int32_t id = FindToken(text.substr(sym[l].start, size));
    if (id < 0) return;
    queue.push({score(id), l, r, size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[b.left];
    Symbol& r = sym[b.right];
    // Stale: one side was merged away or grew since the pair was queued.
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = 0; i != -1; i = sym[i].next) {
    const std::string_view piece = text.substr(sym[i].start, sym[i].n);
    const int32_t id = FindToken(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (unsigned char c : piece) {
      const int32_t t = byte_token_[c] >= 0 ? byte_token_[c] : unk_;
      if (t >= 0) out.push_back(t);
    }
  }
}

void Tokenizer::EncodeBpe(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<uint32_t> cpts;
  internal::DecodeUtf8(text, cpts);
  std::vector<uint8_t> flags(cpts.size());
  for (size_t i = 0; i < cpts.size(); ++i) flags[i] = internal::CodepointFlags(cpts[i]);
  std::vector<internal::Piece> pieces;
  internal::PreTokenize(pre_kind_, cpts, flags, pieces);
  std::string word;
  for (const internal::Piece& p : pieces) {
    // Back to UTF-8 (a malformed byte is now U+FFFD, as in llama.cpp).
    word.clear();
    for (uint32_t i = p.begin; i < p.end; ++i) internal::AppendUtf8(cpts[i], word);
    MergeBpeWord(word, out);
  }
}

void Tokenizer::MergeBpeWord(std::string_view bytes, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    std::string mapped;
    for (unsigned char c : bytes) {
      internal::AppendUtf8(internal::ByteToGpt2Codepoint(c), mapped);
    }
    if (const int32_t id = FindToken(mapped); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  // One symbol per byte; merges work on token ids, so no strings are built.
  std::vector<Symbol> sym(bytes.size());
  const int32_t n = static_cast<int32_t>(bytes.size());
  for (int32_t i = 0; i < n; ++i) {
    sym[i] = {i - 1, i + 1 < n ? i + 1 : -1, static_cast<uint32_t>(i), 1,
              byte_token_[static_cast<unsigned char>(bytes[i])]};
  }
  struct Bigram {
    int32_t rank;
    int32_t left, right;
    int32_t left_id, right_id;
    int32_t merged_id;
  };
  // Lowest rank first; on a tie (the same merge twice), the leftmost.
  auto lower = [](const Bigram& a, const Bigram& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(lower)> queue(lower);
  auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0 || sym[l].id < 0 || sym[r].id < 0) return;
    const MergeResult* m = FindMerge(sym[l].id, sym[r].id);
    if (!m) return;
    queue.push({m->rank, l, r, sym[l].id, sym[r].id, m->id});
  };
  for (int32_t i = 1; i < n; ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[b.left];
    Symbol& r = sym[b.right];
    // Stale: one side was merged away or changed since the pair was queued.
    if (l.n == 0 || r.n == 0 || l.id != b.left_id || r.id != b.right_id) continue;
    l.n += r.n;
    l.id = b.merged_id;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (const Symbol& s : sym) {
    if (s.n == 0) continue;
    if (s.id >= 0) {
      out.push_back(s.id);
    } else {
      EmitBpeFallback(bytes.substr(s.start, s.n), out);
    }
  }
}

void Tokenizer::EmitBpeFallback(std::string_view bytes, std::vector<int32_t>& out) const {
  // Only reachable with a vocabulary that lacks a byte's character or a
  // merge's result. llama.cpp then looks up each byte of the mapped text as
  // a one-byte token and drops what it does not find; so do we.
  std::string mapped;
  for (unsigned char c : bytes)
    internal::AppendUtf8(internal::ByteToGpt2Codepoint(c), mapped);
  for (char c : mapped) {
    if (const int32_t id = FindToken(std::string_view(&c, 1)); id >= 0) out.push_back(id);
  }
}

// ---- decoding ----

std::string Tokenizer::TokenToPiece(int32_t id, bool special) const {
  if (id < 0 || id >= n_vocab()) return {};
  const std::string_view text = texts_[id];
  switch (types_[id]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
      return special ? std::string(text) : std::string();
    case TokenType::kUserDefined:
      return std::string(text);
    case TokenType::kByte:
      return std::string(1, static_cast<char>(ParseByteToken(text)));
    case TokenType::kUndefined:
    case TokenType::kUnused:
      return {};  // llama.cpp renders these as nothing
    case TokenType::kNormal:
      break;
  }
  std::string out;
  if (kind_ == Model::kSpm) {
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      if (text.substr(i, kSpaceEscape.size()) == kSpaceEscape) {
        out += ' ';
        i += kSpaceEscape.size();
      } else {
        out += text[i++];
      }
    }
    return out;
  }
  std::vector<uint32_t> cpts;
  internal::DecodeUtf8(text, cpts);
  for (uint32_t c : cpts) {
    const int b = internal::Gpt2CodepointToByte(c);
    // A character outside GPT-2's alphabet (a hand-made vocabulary) is kept
    // as it is; llama.cpp writes "[UNK_BYTE_0x…]" there.
    if (b >= 0) {
      out += static_cast<char>(b);
    } else {
      internal::AppendUtf8(c, out);
    }
  }
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  for (int32_t id : ids) out += TokenToPiece(id, !skip_special);
  if (kind_ == Model::kSpm && add_space_prefix_ && !out.empty() && out[0] == ' ') {
    out.erase(0, 1);
  }
  return out;
}

}  // namespace edgebench::native
