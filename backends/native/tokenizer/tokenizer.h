// backends/native/tokenizer/tokenizer.h — text to token ids and back for the
// native GGUF engine, from a file's tokenizer.ggml.* metadata.
//
// Two tokenizer models, with the semantics of llama.cpp's llama-vocab.cpp so
// that a prompt costs the same tokens in both engines:
//   "llama": SentencePiece BPE. Spaces become "▁", a dummy "▁" is prepended
//            (tokenizer.ggml.add_space_prefix, default true), adjacent
//            symbols merge by the highest score of the merged piece, and a
//            piece left unknown falls back to its <0xXX> byte tokens.
//   "gpt2":  byte-level BPE. The text is split by the regex that
//            tokenizer.ggml.pre names, each piece's bytes are mapped to
//            GPT-2's printable alphabet and merged by the rank of
//            tokenizer.ggml.merges (earlier merges first). Known names:
//            "gpt-2" (also "gpt2", "phi-2", "mpt", "olmo", ...: GPT-2's regex),
//            "llama-bpe"/"llama3" (Llama 3's regex; a word that is a token is
//            not merged; add_bos defaults to true), "qwen2" (Qwen2's), and
//            "default" or none (llama.cpp's fallback chain of regexes).
// Control, user-defined and unknown-type tokens are matched in the text
// before either model runs: user-defined ones always, control and unknown
// ones only when the caller parses special tokens. As in llama.cpp, tokens
// whose text marks an end of turn ("<|im_end|>", "<|eot_id|>", "</s>", ...)
// are control tokens and end generation, whatever type the file gives them.
//
// Where we knowingly differ from llama.cpp:
//  - Decode drops the dummy-prefix space also after a skipped BOS (as
//    SentencePiece and Hugging Face do; llama.cpp keeps it there), and never
//    "cleans up" spaces before punctuation, so it inverts Encode.
//  - Metadata that llama.cpp warns about and patches (a special id out of
//    range, scores or token types of the wrong length, an unknown token
//    type) is an error here; a gpt2 model has no BOS/EOS unless the file
//    names them (llama.cpp assumes id 11).
//  - A byte without a byte token becomes the unknown token (llama.cpp
//    aborts); a character outside GPT-2's alphabet in a gpt2 token is output
//    as it is (llama.cpp writes "[UNK_BYTE_…]"); add_space_prefix is ignored
//    for gpt2 models (llama.cpp strips a space in decoding only).
//  - Unicode categories come from a newer Unicode version (see
//    internal/unicode_data.cc), which matters only for recently added
//    characters.
//
// Thread-safety: immutable after FromGguf; Encode and Decode may run on many
// threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backends/native/gguf/gguf.h"
#include "base/status.h"

namespace edgebench::native {

namespace internal {
class SpecialMatcher;
enum class PreTokenizer;
}  // namespace internal

// Token types as GGUF stores them (tokenizer.ggml.token_type), which are
// SentencePiece's.
enum class TokenType : uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

class Tokenizer {
 public:
  // Reads tokenizer.ggml.* metadata of a GGUF file. Invalid metadata gets a
  // Status naming the file and the key. The result does not refer to `file`.
  static Result<std::unique_ptr<Tokenizer>> FromGguf(const gguf::GgufFile& file);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text to token ids. add_special: prepend BOS when add_bos() and append EOS
  // when add_eos(). parse_special: control tokens written in the text
  // ("<s>", "<|im_start|>") become their ids; otherwise they are plain text.
  // Malformed UTF-8 is tokenized, not rejected (a gpt2 model reads each bad
  // byte as U+FFFD, as llama.cpp does). A text of 1 GiB or more gives no ids.
  std::vector<int32_t> Encode(std::string_view text, bool add_special,
                              bool parse_special) const;

  // The bytes token `id` stands for in output text: "▁" is a space and
  // "<0x0A>" byte 0x0A (llama), byte-level decoding (gpt2). Control and
  // unknown tokens render as empty unless `special`; user-defined tokens
  // always render as their text. An id out of range renders as empty. A
  // piece may be part of a UTF-8 character; concatenate before display.
  std::string TokenToPiece(int32_t id, bool special = false) const;

  // The concatenated pieces of `ids` (control tokens skipped when
  // skip_special), less the dummy-prefix space at the start for llama models,
  // so that Decode(Encode(text, ..., false)) == text for valid UTF-8 text
  // (for llama models: without a literal "▁", which comes back as a space).
  std::string Decode(std::span<const int32_t> ids, bool skip_special = true) const;

  int32_t n_vocab() const { return static_cast<int32_t>(types_.size()); }
  // Special token ids; -1 when absent.
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t eot() const { return eot_; }
  int32_t unk() const { return unk_; }
  int32_t pad() const { return pad_; }
  // End of generation: eos, eot, eom and the tokens llama.cpp recognises by
  // their text ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", ...).
  bool IsEog(int32_t id) const;
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  std::string_view model() const { return model_; }  // "llama" or "gpt2"
  // The BPE pre-tokenizer name as the file gives it ("default" when absent);
  // for llama models whatever the file says, unused.
  std::string_view pre() const { return pre_; }

  // The vocabulary entry of `id` as stored (GPT-2 alphabet, "▁", "<0x0A>").
  // REQUIRES: 0 <= id < n_vocab().
  std::string_view TokenText(int32_t id) const { return texts_[id]; }
  TokenType token_type(int32_t id) const { return types_[id]; }
  float score(int32_t id) const { return scores_.empty() ? 0.0f : scores_[id]; }
  // The id whose vocabulary entry is exactly `text`, or -1.
  int32_t FindToken(std::string_view text) const;

 private:
  enum class Model { kSpm, kBpe };
  struct MergeResult {
    int32_t rank;
    int32_t id;  // token of the merged text, -1 if the vocabulary lacks it
  };
  struct Fragment;

  Tokenizer();
  Status Load(const gguf::GgufFile& file);
  Status LoadTokens(const gguf::GgufFile& file);
  Status LoadMerges(const gguf::GgufFile& file);
  Status LoadSpecialIds(const gguf::GgufFile& file);
  void FindEogTokens();

  std::vector<Fragment> Partition(std::string_view text, bool parse_special) const;
  void EncodeSpm(std::string_view text, std::vector<int32_t>& out) const;
  void EncodeBpe(std::string_view text, std::vector<int32_t>& out) const;
  void MergeBpeWord(std::string_view bytes, std::vector<int32_t>& out) const;
  void EmitBpeFallback(std::string_view bytes, std::vector<int32_t>& out) const;
  const MergeResult* FindMerge(int32_t left, int32_t right) const;

  Model kind_ = Model::kSpm;
  std::string model_;
  std::string pre_;
  internal::PreTokenizer pre_kind_{};
  bool ignore_merges_ = false;  // llama-bpe: a word that is a token is kept whole

  std::string arena_;                    // all token texts, back to back
  std::vector<std::string_view> texts_;  // into arena_
  std::vector<TokenType> types_;
  std::vector<float> scores_;  // empty when the file has none
  std::unordered_map<std::string_view, int32_t> ids_;
  std::unordered_map<uint64_t, MergeResult> merges_;  // (left << 32 | right)

  // llama: the <0xXX> token of each byte (-1 if none); gpt2: the token of each
  // byte's GPT-2 character.
  int32_t byte_token_[256];
  std::unique_ptr<internal::SpecialMatcher> special_;

  int32_t bos_ = -1, eos_ = -1, eot_ = -1, eom_ = -1, unk_ = -1, pad_ = -1;
  bool add_bos_ = false;
  bool add_eos_ = false;
  bool add_space_prefix_ = false;
  std::vector<int32_t> eog_;  // sorted
};

}  // namespace edgebench::native
