#include "backends/native/gguf/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <set>

namespace edgebench::gguf {

static_assert(std::endian::native == std::endian::little,
              "GGUF is little-endian; big-endian hosts are not supported");

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kUint8: return "uint8";
    case ValueType::kInt8: return "int8";
    case ValueType::kUint16: return "uint16";
    case ValueType::kInt16: return "int16";
    case ValueType::kUint32: return "uint32";
    case ValueType::kInt32: return "int32";
    case ValueType::kFloat32: return "float32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUint64: return "uint64";
    case ValueType::kInt64: return "int64";
    case ValueType::kFloat64: return "float64";
  }
  return "unknown";
}

namespace {

// Size in bytes of a fixed-size value type; 0 for string and array.
int ScalarSize(ValueType t) {
  switch (t) {
    case ValueType::kUint8: case ValueType::kInt8: case ValueType::kBool: return 1;
    case ValueType::kUint16: case ValueType::kInt16: return 2;
    case ValueType::kUint32: case ValueType::kInt32: case ValueType::kFloat32: return 4;
    case ValueType::kUint64: case ValueType::kInt64: case ValueType::kFloat64: return 8;
    default: return 0;
  }
}

bool IsKnownValueType(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::kFloat64); }

bool IsSigned(ValueType t) {
  return t == ValueType::kInt8 || t == ValueType::kInt16 || t == ValueType::kInt32 ||
         t == ValueType::kInt64;
}
bool IsUnsigned(ValueType t) {
  return t == ValueType::kUint8 || t == ValueType::kUint16 || t == ValueType::kUint32 ||
         t == ValueType::kUint64;
}
bool IsFloat(ValueType t) { return t == ValueType::kFloat32 || t == ValueType::kFloat64; }

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Reads element i of a numeric array as the widest type of its kind.
int64_t LoadSigned(ValueType t, const uint8_t* p) {
  switch (t) {
    case ValueType::kInt8: return Load<int8_t>(p);
    case ValueType::kInt16: return Load<int16_t>(p);
    case ValueType::kInt32: return Load<int32_t>(p);
    default: return Load<int64_t>(p);
  }
}
uint64_t LoadUnsigned(ValueType t, const uint8_t* p) {
  switch (t) {
    case ValueType::kUint8: case ValueType::kBool: return Load<uint8_t>(p);
    case ValueType::kUint16: return Load<uint16_t>(p);
    case ValueType::kUint32: return Load<uint32_t>(p);
    default: return Load<uint64_t>(p);
  }
}

constexpr int kMaxArrayDepth = 8;

}  // namespace

// ---- MetaValue ----

std::optional<int64_t> MetaValue::AsInt() const {
  if (IsSigned(type_)) return i_;
  if (IsUnsigned(type_) && u_ <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(u_);
  return std::nullopt;
}

std::optional<uint64_t> MetaValue::AsUint() const {
  if (IsUnsigned(type_)) return u_;
  if (IsSigned(type_) && i_ >= 0) return static_cast<uint64_t>(i_);
  return std::nullopt;
}

std::optional<double> MetaValue::AsFloat() const {
  if (IsFloat(type_)) return f_;
  if (IsSigned(type_)) return static_cast<double>(i_);
  if (IsUnsigned(type_)) return static_cast<double>(u_);
  return std::nullopt;
}

std::optional<bool> MetaValue::AsBool() const {
  if (type_ == ValueType::kBool) return u_ != 0;
  return std::nullopt;
}

std::optional<std::string_view> MetaValue::AsString() const {
  if (type_ == ValueType::kString) return s_;
  return std::nullopt;
}

std::optional<std::vector<int64_t>> MetaValue::IntArray() const {
  if (!is_array()) return std::nullopt;
  const int size = ScalarSize(elem_type_);
  if (IsFloat(elem_type_) || size == 0) return std::nullopt;
  std::vector<int64_t> out(count_);
  for (uint64_t i = 0; i < count_; ++i) {
    const uint8_t* p = data_ + i * size;
    if (IsSigned(elem_type_)) {
      out[i] = LoadSigned(elem_type_, p);
    } else {
      const uint64_t u = LoadUnsigned(elem_type_, p);
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      out[i] = static_cast<int64_t>(u);
    }
  }
  return out;
}

std::optional<std::vector<float>> MetaValue::FloatArray() const {
  if (!is_array()) return std::nullopt;
  const int size = ScalarSize(elem_type_);
  if (size == 0 || elem_type_ == ValueType::kBool) return std::nullopt;
  std::vector<float> out(count_);
  for (uint64_t i = 0; i < count_; ++i) {
    const uint8_t* p = data_ + i * size;
    if (elem_type_ == ValueType::kFloat32) out[i] = Load<float>(p);
    else if (elem_type_ == ValueType::kFloat64) out[i] = static_cast<float>(Load<double>(p));
    else if (IsSigned(elem_type_)) out[i] = static_cast<float>(LoadSigned(elem_type_, p));
    else out[i] = static_cast<float>(LoadUnsigned(elem_type_, p));
  }
  return out;
}

std::span<const uint8_t> MetaValue::raw_array_bytes() const {
  if (!is_array() || !data_) return {};
  return {data_, count_ * ScalarSize(elem_type_)};
}

std::string MetaValue::ToDisplayString() const {
  char buf[64];
  switch (type_) {
    case ValueType::kString: {
      std::string s(s_.substr(0, 60));
      for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      return "\"" + s + (s_.size() > 60 ? "…\"" : "\"");
    }
    case ValueType::kBool: return u_ ? "true" : "false";
    case ValueType::kFloat32: case ValueType::kFloat64:
      std::snprintf(buf, sizeof buf, "%g", f_);
      return buf;
    case ValueType::kArray:
      return "[" + std::to_string(count_) + " × " + std::string(ValueTypeName(elem_type_)) +
             "]";
    default:
      return IsSigned(type_) ? std::to_string(i_) : std::to_string(u_);
  }
}

// ---- parsing ----

// Reads a GGUF image front to back, checking every length against what is
// left before trusting it.
class GgufParser {
 public:
  GgufParser(GgufFile& file) : f_(file), p_(file.base_), end_(file.base_ + file.size_) {}

  Status Parse() {
    RETURN_IF_ERROR(Need(24, "header"));
    const uint32_t magic = Load<uint32_t>(p_);
    if (magic != kMagic) {
      return Fail(0, "not a GGUF file (magic is " + Hex(magic) + ", expected \"GGUF\")");
    }
    p_ += 4;
    f_.version_ = Load<uint32_t>(p_);
    if (f_.version_ == 1)
      return Fail(4, "GGUF v1 is not supported (v2 and v3 are); re-convert the model");
    if (f_.version_ != 2 && f_.version_ != 3)
      return Fail(4, "unknown GGUF version " + std::to_string(f_.version_));
    p_ += 4;
    const uint64_t n_tensors = Load<uint64_t>(p_);
    const uint64_t n_kv = Load<uint64_t>(p_ + 8);
    p_ += 16;
    // Each key/value takes at least 12 bytes, each tensor info at least 28:
    // counts beyond that are lies, rejected before anything is reserved.
    if (n_kv > Left() / 12)
      return Fail(16, "metadata count " + std::to_string(n_kv) + " exceeds what the file can hold");
    if (n_tensors > Left() / 28)
      return Fail(8, "tensor count " + std::to_string(n_tensors) +
                         " exceeds what the file can hold");

    std::set<std::string_view> keys;
    f_.metadata_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
      const uint64_t at = Pos();
      std::string_view key;
      RETURN_IF_ERROR(ReadString(&key, "metadata key"));
      if (key.empty()) return Fail(at, "metadata key " + std::to_string(i) + " is empty");
      if (!keys.insert(key).second) return Fail(at, "duplicate metadata key \"" + std::string(key) + "\"");
      RETURN_IF_ERROR(Need(4, "value type of \"" + std::string(key) + "\""));
      const uint32_t type = Load<uint32_t>(p_);
      if (!IsKnownValueType(type))
        return Fail(Pos(), "metadata \"" + std::string(key) + "\" has unknown value type " +
                               std::to_string(type));
      p_ += 4;
      MetaValue v;
      RETURN_IF_ERROR(ReadValue(static_cast<ValueType>(type), &v, std::string(key), 0));
      f_.metadata_.emplace_back(key, std::move(v));
    }

    if (const MetaValue* a = f_.Find("general.alignment")) {
      auto al = a->AsUint();
      if (a->type() != ValueType::kUint32 || !al)
        return Fail(16, "general.alignment must be a uint32, got " +
                            std::string(ValueTypeName(a->type())));
      if (*al == 0 || (*al & (*al - 1)) != 0)
        return Fail(16, "general.alignment " + std::to_string(*al) + " is not a power of two");
      f_.alignment_ = static_cast<uint32_t>(*al);
    }

    std::set<std::string_view> names;
    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
      TensorInfo t;
      RETURN_IF_ERROR(ReadTensorInfo(i, &t));
      if (!names.insert(t.name).second)
        return Fail(t.info_offset, "duplicate tensor name \"" + std::string(t.name) + "\"");
      f_.tensors_.push_back(std::move(t));
    }

    // The data section starts at the next multiple of the alignment.
    const uint64_t end_of_infos = Pos();
    const uint64_t data = AlignUp(end_of_infos, f_.alignment_);
    if (data < end_of_infos) return Fail(end_of_infos, "data offset overflows");
    f_.data_offset_ = data;
    if (!f_.tensors_.empty() && data > f_.size_)
      return Fail(end_of_infos, "file ends before its data section (truncated?)");
    const uint64_t data_size = f_.size_ - std::min<uint64_t>(data, f_.size_);

    // Bounds and overlaps of tensor data.
    std::vector<const TensorInfo*> by_offset;
    for (TensorInfo& t : f_.tensors_) {
      if (t.offset > data_size || t.size_bytes > data_size - t.offset)
        return Fail(t.info_offset,
                    "tensor \"" + std::string(t.name) + "\" data [" + std::to_string(t.offset) +
                        ", +" + std::to_string(t.size_bytes) + ") runs past the end of the file (" +
                        std::to_string(data_size) + " data bytes; truncated?)");
      t.data = f_.base_ + data + t.offset;
      by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const TensorInfo& a = *by_offset[i - 1];
      const TensorInfo& b = *by_offset[i];
      if (a.offset + a.size_bytes > b.offset)
        return Fail(b.info_offset, "tensor \"" + std::string(b.name) +
                                       "\" overlaps tensor \"" + std::string(a.name) + "\"");
    }
    return Status::Ok();
  }

 private:
  uint64_t Pos() const { return static_cast<uint64_t>(p_ - f_.base_); }
  uint64_t Left() const { return static_cast<uint64_t>(end_ - p_); }

  static uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

  static std::string Hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
  }

  Status Fail(uint64_t offset, const std::string& what) const {
    return DataLossError(f_.path_ + ": at byte " + std::to_string(offset) + ": " + what);
  }

  Status Need(uint64_t n, const std::string& what) const {
    if (Left() < n)
      return Fail(Pos(), "file ends inside " + what + " (needs " + std::to_string(n) +
                             " bytes, " + std::to_string(Left()) + " left; truncated?)");
    return Status::Ok();
  }

  Status ReadString(std::string_view* out, const std::string& what) {
    RETURN_IF_ERROR(Need(8, "length of " + what));
    const uint64_t at = Pos();
    const uint64_t len = Load<uint64_t>(p_);
    p_ += 8;
    if (len > Left())
      return Fail(at, what + " claims " + std::to_string(len) + " bytes, only " +
                          std::to_string(Left()) + " left in the file");
    *out = std::string_view(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    return Status::Ok();
  }

  Status ReadValue(ValueType type, MetaValue* v, const std::string& key, int depth) {
    v->type_ = type;
    const int size = ScalarSize(type);
    if (size) {
      RETURN_IF_ERROR(Need(size, "value of \"" + key + "\""));
      switch (type) {
        case ValueType::kFloat32: v->f_ = Load<float>(p_); break;
        case ValueType::kFloat64: v->f_ = Load<double>(p_); break;
        case ValueType::kBool: v->u_ = Load<uint8_t>(p_) != 0; break;
        default:
          if (IsSigned(type)) v->i_ = LoadSigned(type, p_);
          else v->u_ = LoadUnsigned(type, p_);
      }
      p_ += size;
      return Status::Ok();
    }
    if (type == ValueType::kString) return ReadString(&v->s_, "string \"" + key + "\"");

    // Array: element type, count, elements.
    if (depth >= kMaxArrayDepth)
      return Fail(Pos(), "arrays in \"" + key + "\" nest deeper than " +
                             std::to_string(kMaxArrayDepth));
    RETURN_IF_ERROR(Need(12, "array header of \"" + key + "\""));
    const uint64_t at = Pos();
    const uint32_t elem = Load<uint32_t>(p_);
    if (!IsKnownValueType(elem))
      return Fail(at, "array \"" + key + "\" has unknown element type " + std::to_string(elem));
    v->elem_type_ = static_cast<ValueType>(elem);
    v->count_ = Load<uint64_t>(p_ + 4);
    p_ += 12;
    const int esize = ScalarSize(v->elem_type_);
    if (esize) {
      if (v->count_ > Left() / esize)
        return Fail(at, "array \"" + key + "\" claims " + std::to_string(v->count_) + " × " +
                            std::string(ValueTypeName(v->elem_type_)) + ", more than the " +
                            std::to_string(Left()) + " bytes left");
      v->data_ = p_;
      p_ += v->count_ * esize;
      return Status::Ok();
    }
    // Strings take at least 8 bytes, arrays at least 12: bound the count
    // before reserving for it.
    const uint64_t min_elem = v->elem_type_ == ValueType::kString ? 8 : 12;
    if (v->count_ > Left() / min_elem)
      return Fail(at, "array \"" + key + "\" claims " + std::to_string(v->count_) +
                          " elements, more than the file can hold");
    if (v->elem_type_ == ValueType::kString) {
      v->strings_.resize(v->count_);
      for (uint64_t i = 0; i < v->count_; ++i)
        RETURN_IF_ERROR(ReadString(&v->strings_[i], "element " + std::to_string(i) +
                                                        " of \"" + key + "\""));
      return Status::Ok();
    }
    v->items_.resize(v->count_);
    for (uint64_t i = 0; i < v->count_; ++i) {
      RETURN_IF_ERROR(Need(4, "element type in \"" + key + "\""));
      // Nested arrays carry their own element type; the outer says "array".
      RETURN_IF_ERROR(ReadValue(ValueType::kArray, &v->items_[i], key, depth + 1));
    }
    return Status::Ok();
  }

  Status ReadTensorInfo(uint64_t index, TensorInfo* t) {
    t->info_offset = Pos();
    RETURN_IF_ERROR(ReadString(&t->name, "name of tensor " + std::to_string(index)));
    const std::string name = "tensor \"" + std::string(t->name) + "\"";
    if (t->name.empty()) return Fail(t->info_offset, "tensor " + std::to_string(index) + " has an empty name");
    RETURN_IF_ERROR(Need(4, "dimension count of " + name));
    const uint32_t n_dims = Load<uint32_t>(p_);
    if (n_dims == 0 || n_dims > kMaxDims)
      return Fail(Pos(), name + " has " + std::to_string(n_dims) + " dimensions (1 to " +
                             std::to_string(kMaxDims) + " allowed)");
    p_ += 4;
    RETURN_IF_ERROR(Need(8ull * n_dims + 12, "dimensions of " + name));
    int64_t n = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = Load<uint64_t>(p_);
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Fail(Pos(), name + " dimension " + std::to_string(d) + " is " + std::to_string(dim));
      if (static_cast<uint64_t>(n) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dim)
        return Fail(Pos(), name + " has more elements than fit in 64 bits");
      n *= static_cast<int64_t>(dim);
      t->dims.push_back(static_cast<int64_t>(dim));
      p_ += 8;
    }
    t->n_elements = n;
    const uint64_t type_at = Pos();
    const uint32_t type_id = Load<uint32_t>(p_);
    p_ += 4;
    const TypeTraits* traits = FindTypeTraits(type_id);
    if (!traits) return Fail(type_at, name + " has unknown type id " + std::to_string(type_id));
    t->type = traits->type;
    if (t->dims[0] % traits->block_size)
      return Fail(type_at, name + " row of " + std::to_string(t->dims[0]) +
                               " elements is not a multiple of the " +
                               std::string(traits->name) + " block size " +
                               std::to_string(traits->block_size));
    // n / block_size * type_size cannot overflow unless the data is larger
    // than any file, but check rather than assume.
    const uint64_t blocks = static_cast<uint64_t>(n / traits->block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / traits->type_size)
      return Fail(type_at, name + " is too large");
    t->size_bytes = blocks * traits->type_size;
    t->offset = Load<uint64_t>(p_);
    if (t->offset % f_.alignment_)
      return Fail(Pos(), name + " data offset " + std::to_string(t->offset) +
                             " is not a multiple of the alignment " +
                             std::to_string(f_.alignment_));
    p_ += 8;
    return Status::Ok();
  }

  GgufFile& f_;
  const uint8_t* p_;
  const uint8_t* end_;
};

// ---- GgufFile ----

GgufFile::~GgufFile() {
  if (mapped_ && base_) ::munmap(const_cast<uint8_t*>(base_), size_);
}

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = ErrnoToStatus(errno, path);
    ::close(fd);
    return s;
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path + ": is a directory, expected a GGUF file");
  }
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->size_ = static_cast<uint64_t>(st.st_size);
  if (f->size_ == 0) {
    ::close(fd);
    return DataLossError(path + ": at byte 0: file is empty");
  }
  void* m = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (m == MAP_FAILED) return ErrnoToStatus(map_errno, path + ": mmap");
  f->base_ = static_cast<const uint8_t*>(m);
  f->mapped_ = true;
  GgufParser parser(*f);
  RETURN_IF_ERROR(parser.Parse());
  return f;
}

Result<std::unique_ptr<GgufFile>> GgufFile::FromBytes(std::string name,
                                                      std::vector<uint8_t> bytes) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = std::move(name);
  f->owned_ = std::move(bytes);
  f->base_ = f->owned_.data();
  f->size_ = f->owned_.size();
  GgufParser parser(*f);
  RETURN_IF_ERROR(parser.Parse());
  return f;
}

const MetaValue* GgufFile::Find(std::string_view key) const {
  for (const auto& [k, v] : metadata_)
    if (k == key) return &v;
  return nullptr;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  for (const TensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

namespace {
Status Missing(const std::string& path, std::string_view key) {
  return NotFoundError(path + ": metadata key \"" + std::string(key) + "\" is missing");
}
Status WrongType(const std::string& path, std::string_view key, const MetaValue& v,
                 const char* expected) {
  return InvalidArgumentError(path + ": metadata \"" + std::string(key) + "\" is " +
                              std::string(ValueTypeName(v.type())) + " " +
                              v.ToDisplayString() + ", expected " + expected);
}
}  // namespace

Result<int64_t> GgufFile::GetInt(std::string_view key) const {
  const MetaValue* v = Find(key);
  if (!v) return Missing(path_, key);
  if (auto i = v->AsInt()) return *i;
  return WrongType(path_, key, *v, "an integer");
}

Result<int64_t> GgufFile::GetInt(std::string_view key, int64_t fallback) const {
  return Find(key) ? GetInt(key) : Result<int64_t>(fallback);
}

Result<double> GgufFile::GetFloat(std::string_view key) const {
  const MetaValue* v = Find(key);
  if (!v) return Missing(path_, key);
  if (auto f = v->AsFloat()) return *f;
  return WrongType(path_, key, *v, "a number");
}

Result<double> GgufFile::GetFloat(std::string_view key, double fallback) const {
  return Find(key) ? GetFloat(key) : Result<double>(fallback);
}

Result<std::string_view> GgufFile::GetString(std::string_view key) const {
  const MetaValue* v = Find(key);
  if (!v) return Missing(path_, key);
  if (auto s = v->AsString()) return *s;
  return WrongType(path_, key, *v, "a string");
}

Result<bool> GgufFile::GetBool(std::string_view key) const {
  const MetaValue* v = Find(key);
  if (!v) return Missing(path_, key);
  if (auto b = v->AsBool()) return *b;
  return WrongType(path_, key, *v, "a bool");
}

Result<bool> GgufFile::GetBool(std::string_view key, bool fallback) const {
  return Find(key) ? GetBool(key) : Result<bool>(fallback);
}

// ---- GgufWriter ----

namespace {

void Put(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}
template <typename T>
void PutScalar(std::vector<uint8_t>& out, T v) {
  Put(out, &v, sizeof v);
}
void PutString(std::vector<uint8_t>& out, std::string_view s) {
  PutScalar<uint64_t>(out, s.size());
  Put(out, s.data(), s.size());
}
std::vector<uint8_t> Typed(ValueType t) {
  std::vector<uint8_t> out;
  PutScalar<uint32_t>(out, static_cast<uint32_t>(t));
  return out;
}

// Encodes a parsed value again (type id first).
void EncodeValue(std::vector<uint8_t>& out, const MetaValue& v) {
  PutScalar<uint32_t>(out, static_cast<uint32_t>(v.type()));
  switch (v.type()) {
    case ValueType::kString: PutString(out, *v.AsString()); return;
    case ValueType::kFloat32: PutScalar<float>(out, static_cast<float>(*v.AsFloat())); return;
    case ValueType::kFloat64: PutScalar<double>(out, *v.AsFloat()); return;
    case ValueType::kBool: PutScalar<uint8_t>(out, *v.AsBool() ? 1 : 0); return;
    case ValueType::kArray: {
      PutScalar<uint32_t>(out, static_cast<uint32_t>(v.array_type()));
      PutScalar<uint64_t>(out, v.array_size());
      if (v.array_type() == ValueType::kString) {
        for (std::string_view s : v.strings()) PutString(out, s);
      } else if (v.array_type() == ValueType::kArray) {
        for (const MetaValue& item : v.items()) {
          std::vector<uint8_t> sub;
          EncodeValue(sub, item);
          out.insert(out.end(), sub.begin() + 4, sub.end());  // no per-item type id
        }
      } else {
        const std::span<const uint8_t> raw = v.raw_array_bytes();
        Put(out, raw.data(), raw.size());
      }
      return;
    }
    default: {
      const int size = ScalarSize(v.type());
      if (IsSigned(v.type())) {
        int64_t i = *v.AsInt();
        Put(out, &i, size);
      } else {
        uint64_t u = *v.AsUint();
        Put(out, &u, size);
      }
    }
  }
}

}  // namespace

void GgufWriter::Set(std::string key, std::vector<uint8_t> encoded) {
  for (Entry& e : entries_)
    if (e.key == key) {
      e.encoded = std::move(encoded);
      return;
    }
  entries_.push_back({std::move(key), std::move(encoded)});
}

void GgufWriter::SetUint32(std::string key, uint32_t v) {
  auto e = Typed(ValueType::kUint32);
  PutScalar(e, v);
  if (key == "general.alignment" && v && !(v & (v - 1))) alignment_ = v;
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetInt32(std::string key, int32_t v) {
  auto e = Typed(ValueType::kInt32);
  PutScalar(e, v);
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetUint64(std::string key, uint64_t v) {
  auto e = Typed(ValueType::kUint64);
  PutScalar(e, v);
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetFloat32(std::string key, float v) {
  auto e = Typed(ValueType::kFloat32);
  PutScalar(e, v);
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetBool(std::string key, bool v) {
  auto e = Typed(ValueType::kBool);
  PutScalar<uint8_t>(e, v ? 1 : 0);
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetString(std::string key, std::string v) {
  auto e = Typed(ValueType::kString);
  PutString(e, v);
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetStringArray(std::string key, std::vector<std::string> v) {
  auto e = Typed(ValueType::kArray);
  PutScalar<uint32_t>(e, static_cast<uint32_t>(ValueType::kString));
  PutScalar<uint64_t>(e, v.size());
  for (const std::string& s : v) PutString(e, s);
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetFloat32Array(std::string key, std::vector<float> v) {
  auto e = Typed(ValueType::kArray);
  PutScalar<uint32_t>(e, static_cast<uint32_t>(ValueType::kFloat32));
  PutScalar<uint64_t>(e, v.size());
  Put(e, v.data(), v.size() * sizeof(float));
  Set(std::move(key), std::move(e));
}
void GgufWriter::SetInt32Array(std::string key, std::vector<int32_t> v) {
  auto e = Typed(ValueType::kArray);
  PutScalar<uint32_t>(e, static_cast<uint32_t>(ValueType::kInt32));
  PutScalar<uint64_t>(e, v.size());
  Put(e, v.data(), v.size() * sizeof(int32_t));
  Set(std::move(key), std::move(e));
}
void GgufWriter::CopyValue(std::string key, const MetaValue& value) {
  std::vector<uint8_t> e;
  EncodeValue(e, value);
  Set(std::move(key), std::move(e));
}

void GgufWriter::AddTensor(std::string name, std::vector<int64_t> dims, TensorType type) {
  tensors_.push_back({std::move(name), std::move(dims), type});
}

uint64_t GgufWriter::TensorBytes(size_t index) const {
  const Tensor& t = tensors_[index];
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  const TypeTraits& tr = GetTypeTraits(t.type);
  return static_cast<uint64_t>(n / tr.block_size * tr.type_size);
}

std::vector<uint8_t> GgufWriter::Header() const {
  std::vector<uint8_t> out;
  PutScalar<uint32_t>(out, kMagic);
  PutScalar<uint32_t>(out, version_);
  PutScalar<uint64_t>(out, tensors_.size());
  PutScalar<uint64_t>(out, entries_.size());
  for (const Entry& e : entries_) {
    PutString(out, e.key);
    Put(out, e.encoded.data(), e.encoded.size());
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    PutString(out, t.name);
    PutScalar<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) PutScalar<uint64_t>(out, static_cast<uint64_t>(d));
    PutScalar<uint32_t>(out, static_cast<uint32_t>(t.type));
    PutScalar<uint64_t>(out, offset);
    offset += (TensorBytes(i) + alignment_ - 1) / alignment_ * alignment_;
  }
  out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
  return out;
}

Status GgufWriter::Emit(const TensorProducer& produce,
                        const std::function<Status(const uint8_t*, size_t)>& sink) const {
  const std::vector<uint8_t> header = Header();
  RETURN_IF_ERROR(sink(header.data(), header.size()));
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    buf.clear();
    RETURN_IF_ERROR(produce(i, buf));
    const uint64_t want = TensorBytes(i);
    if (buf.size() != want)
      return InternalError("tensor \"" + tensors_[i].name + "\": producer gave " +
                           std::to_string(buf.size()) + " bytes, expected " +
                           std::to_string(want));
    buf.resize((buf.size() + alignment_ - 1) / alignment_ * alignment_, 0);
    RETURN_IF_ERROR(sink(buf.data(), buf.size()));
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> GgufWriter::ToBytes(const TensorProducer& produce) const {
  std::vector<uint8_t> out;
  RETURN_IF_ERROR(Emit(produce, [&](const uint8_t* p, size_t n) {
    out.insert(out.end(), p, p + n);
    return Status::Ok();
  }));
  return out;
}

Status GgufWriter::Write(const std::string& path, const TensorProducer& produce) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return ErrnoToStatus(errno, tmp);
  Status s = Emit(produce, [&](const uint8_t* p, size_t n) -> Status {
    if (std::fwrite(p, 1, n, f) != n) return ErrnoToStatus(errno, tmp + ": write");
    return Status::Ok();
  });
  if (std::fflush(f) != 0 && s.ok()) s = ErrnoToStatus(errno, tmp + ": write");
  if (s.ok() && ::fsync(::fileno(f)) != 0) s = ErrnoToStatus(errno, tmp + ": fsync");
  if (std::fclose(f) != 0 && s.ok()) s = ErrnoToStatus(errno, tmp + ": close");
  if (s.ok() && std::rename(tmp.c_str(), path.c_str()) != 0)
    s = ErrnoToStatus(errno, "rename " + tmp + " to " + path);
  if (!s.ok()) std::remove(tmp.c_str());
  return s;
}

}  // namespace edgebench::gguf
