// backends/native/gguf/gguf.h — reading and writing GGUF files (v2, v3).
//
// GgufFile maps a file read-only and validates all of it up front: counts,
// string and array lengths, value types, tensor dimensions, types, offsets,
// alignment and bounds, with overflow checks everywhere. After Open succeeds
// every accessor is safe; a malformed file gets a Status naming the file, the
// byte offset and what is wrong. Strings and tensor data point into the
// mapping and live as long as the GgufFile.
//
// GgufWriter builds a file from metadata and tensors whose bytes are produced
// one at a time (a 1.1B model never sits in memory whole), writing to a
// temporary name and renaming, so a half-written file is never seen.
//
// Thread-safety: a GgufFile is immutable after Open; share it freely.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/native/gguf/ggml_types.h"
#include "base/status.h"

namespace edgebench::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr int kMaxDims = 4;

// Metadata value types, as stored in the file.
enum class ValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5,
  kFloat32 = 6, kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11,
  kFloat64 = 12,
};
std::string_view ValueTypeName(ValueType t);

// One metadata value: a scalar, a string, or an array of them (arrays may
// nest). Numeric arrays are read from the mapping on access.
class MetaValue {
 public:
  ValueType type() const { return type_; }
  bool is_array() const { return type_ == ValueType::kArray; }

  // Scalars. Integers of any width convert when the value fits.
  std::optional<int64_t> AsInt() const;
  std::optional<uint64_t> AsUint() const;
  std::optional<double> AsFloat() const;  // float types, and integers
  std::optional<bool> AsBool() const;
  std::optional<std::string_view> AsString() const;

  // Arrays. REQUIRES: is_array().
  ValueType array_type() const { return elem_type_; }
  uint64_t array_size() const { return count_; }
  // Elements of a string array (empty for other arrays).
  const std::vector<std::string_view>& strings() const { return strings_; }
  // Elements of a numeric/bool array, converted; nullopt for other arrays or
  // an integer that does not fit.
  std::optional<std::vector<int64_t>> IntArray() const;
  std::optional<std::vector<float>> FloatArray() const;
  // The little-endian bytes of a numeric/bool array (empty for others).
  std::span<const uint8_t> raw_array_bytes() const;
  // Elements of an array of arrays.
  const std::vector<MetaValue>& items() const { return items_; }

  // A short human rendering: `42`, `"llama"`, `[32000 × string]`.
  std::string ToDisplayString() const;

 private:
  friend class GgufParser;
  ValueType type_ = ValueType::kUint8;
  ValueType elem_type_ = ValueType::kUint8;
  uint64_t u_ = 0;  // unsigned scalars and bools
  int64_t i_ = 0;   // signed scalars
  double f_ = 0;    // float scalars
  std::string_view s_;
  uint64_t count_ = 0;
  const uint8_t* data_ = nullptr;  // numeric array elements, little-endian
  std::vector<std::string_view> strings_;
  std::vector<MetaValue> items_;
};

struct TensorInfo {
  std::string_view name;
  std::vector<int64_t> dims;  // dims[0] is contiguous (a row), as in ggml
  TensorType type;
  uint64_t offset = 0;        // from the start of the data section
  uint64_t size_bytes = 0;
  int64_t n_elements = 0;
  const uint8_t* data = nullptr;  // into the mapping
  uint64_t info_offset = 0;       // where its record sits in the file
};

class GgufFile {
 public:
  // Maps and validates `path`.
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Validates an in-memory image (tests, fuzzing); `name` is used in errors.
  static Result<std::unique_ptr<GgufFile>> FromBytes(std::string name,
                                                     std::vector<uint8_t> bytes);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return size_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string_view, MetaValue>>& metadata() const {
    return metadata_;
  }
  const MetaValue* Find(std::string_view key) const;

  // Typed lookups whose errors name the file and the key.
  Result<int64_t> GetInt(std::string_view key) const;
  Result<double> GetFloat(std::string_view key) const;
  Result<std::string_view> GetString(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  // As above, with a default when the key is absent (a wrong type is still
  // an error).
  Result<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  Result<double> GetFloat(std::string_view key, double fallback) const;
  Result<bool> GetBool(std::string_view key, bool fallback) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;

 private:
  friend class GgufParser;
  GgufFile() = default;

  std::string path_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  std::vector<uint8_t> owned_;  // FromBytes
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string_view, MetaValue>> metadata_;
  std::vector<TensorInfo> tensors_;
};

// ---- writing ----

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3) : version_(version) {}

  void SetUint32(std::string key, uint32_t v);
  void SetInt32(std::string key, int32_t v);
  void SetUint64(std::string key, uint64_t v);
  void SetFloat32(std::string key, float v);
  void SetBool(std::string key, bool v);
  void SetString(std::string key, std::string v);
  void SetStringArray(std::string key, std::vector<std::string> v);
  void SetFloat32Array(std::string key, std::vector<float> v);
  void SetInt32Array(std::string key, std::vector<int32_t> v);
  // Copies a value (any type, arrays included) from another file, e.g. a
  // tokenizer's keys from a vocabulary file.
  void CopyValue(std::string key, const MetaValue& value);

  // Declares a tensor; its bytes come from the producer given to Write.
  void AddTensor(std::string name, std::vector<int64_t> dims, TensorType type);

  // Fills `out` with the bytes of tensor `index` (exactly its size).
  using TensorProducer = std::function<Status(size_t index, std::vector<uint8_t>& out)>;

  // Writes `path` (through `path`.tmp and a rename).
  Status Write(const std::string& path, const TensorProducer& produce) const;
  // The whole file in memory (small files and tests).
  Result<std::vector<uint8_t>> ToBytes(const TensorProducer& produce) const;

  uint64_t TensorBytes(size_t index) const;

 private:
  struct Entry {
    std::string key;
    std::vector<uint8_t> encoded;  // type id and value, as in the file
  };
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    TensorType type;
  };
  void Set(std::string key, std::vector<uint8_t> encoded);
  std::vector<uint8_t> Header() const;  // everything before the data section
  Status Emit(const TensorProducer& produce,
              const std::function<Status(const uint8_t*, size_t)>& sink) const;

  uint32_t version_;
  uint32_t alignment_ = kDefaultAlignment;
  std::vector<Entry> entries_;
  std::vector<Tensor> tensors_;
};

}  // namespace edgebench::gguf
