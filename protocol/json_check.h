// protocol/json_check.h — reading typed fields out of JSON documents with
// errors that name the JSON pointer and the expected type:
//   /runs/0/threads: expected a positive integer, got "four"
// Used for the run spec here and the sweep spec in the harness.
//
// Thread-safety: stateless functions.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace edgebench::protocol {

// A short rendering of a JSON value for error messages: `"four"`, `-3`,
// `[...]`, `{...}`.
inline std::string JsonSnippet(const nlohmann::json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

// "/runs/0" + "threads" -> "/runs/0/threads", escaping as RFC 6901 asks.
inline std::string JoinPointer(std::string_view base, std::string_view key) {
  std::string out(base);
  out += '/';
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

inline Status JsonTypeError(std::string_view pointer, std::string_view expected,
                            const nlohmann::json& got) {
  return InvalidArgumentError(std::string(pointer.empty() ? "/" : pointer) + ": expected " +
                              std::string(expected) + ", got " + JsonSnippet(got));
}

// Reads the fields of one JSON object, each by name, tracking which were
// read so unknown (misspelt) keys can be reported.
class JsonObject {
 public:
  // REQUIRES: the caller checked `j.is_object()` (see Open).
  JsonObject(const nlohmann::json& j, std::string pointer)
      : j_(j), pointer_(std::move(pointer)) {}

  static Result<JsonObject> Open(const nlohmann::json& j, std::string pointer) {
    if (!j.is_object()) return JsonTypeError(pointer, "an object", j);
    return JsonObject(j, std::move(pointer));
  }

  const std::string& pointer() const { return pointer_; }
  std::string Pointer(std::string_view key) const { return JoinPointer(pointer_, key); }
  bool Has(std::string_view key) const { return j_.contains(std::string(key)); }
  // The raw value, or nullptr. Marks the key as known.
  const nlohmann::json* Raw(std::string_view key) {
    known_.insert(std::string(key));
    auto it = j_.find(std::string(key));
    return it == j_.end() ? nullptr : &*it;
  }

  // Integer in [min, max]; `fallback` when absent.
  Status Int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
    const nlohmann::json* v = Raw(key);
    if (!v) return Status::Ok();
    if (!v->is_number_integer() || v->get<int64_t>() < min || v->get<int64_t>() > max) {
      std::string want;
      if (min == 1 && max == std::numeric_limits<int64_t>::max()) want = "a positive integer";
      else if (min == 0 && max == std::numeric_limits<int64_t>::max()) want = "an integer >= 0";
      else want = "an integer in " + std::to_string(min) + ".." + std::to_string(max);
      return JsonTypeError(Pointer(key), want, *v);
    }
    *out = v->get<int64_t>();
    return Status::Ok();
  }
  template <typename T>
  Status Int(std::string_view key, T* out, int64_t min = std::numeric_limits<T>::min(),
             int64_t max = std::numeric_limits<T>::max()) {
    int64_t v = *out;
    RETURN_IF_ERROR(Int(key, &v, min, max));
    *out = static_cast<T>(v);
    return Status::Ok();
  }
  Status Uint64(std::string_view key, uint64_t* out) {
    const nlohmann::json* v = Raw(key);
    if (!v) return Status::Ok();
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
      return JsonTypeError(Pointer(key), "an integer >= 0", *v);
    *out = v->get<uint64_t>();
    return Status::Ok();
  }
  Status Number(std::string_view key, double* out, double min, double max) {
    const nlohmann::json* v = Raw(key);
    if (!v) return Status::Ok();
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < min ||
        v->get<double>() > max) {
      std::string want = "a number";
      if (min > -std::numeric_limits<double>::max() || max < std::numeric_limits<double>::max())
        want += " in [" + JsonSnippet(min) + ", " + JsonSnippet(max) + "]";
      return JsonTypeError(Pointer(key), want, *v);
    }
    *out = v->get<double>();
    return Status::Ok();
  }
  Status Bool(std::string_view key, bool* out) {
    const nlohmann::json* v = Raw(key);
    if (!v) return Status::Ok();
    if (!v->is_boolean()) return JsonTypeError(Pointer(key), "true or false", *v);
    *out = v->get<bool>();
    return Status::Ok();
  }
  Status String(std::string_view key, std::string* out) {
    const nlohmann::json* v = Raw(key);
    if (!v) return Status::Ok();
    if (!v->is_string()) return JsonTypeError(Pointer(key), "a string", *v);
    *out = v->get<std::string>();
    return Status::Ok();
  }
  // One of `choices`.
  Status Enum(std::string_view key, std::string* out, std::initializer_list<std::string_view> choices) {
    const nlohmann::json* v = Raw(key);
    if (!v) return Status::Ok();
    std::string want;
    for (std::string_view c : choices) want += (want.empty() ? "" : ", ") + std::string("\"") + std::string(c) + "\"";
    if (v->is_string())
      for (std::string_view c : choices)
        if (v->get<std::string>() == c) {
          *out = std::string(c);
          return Status::Ok();
        }
    return JsonTypeError(Pointer(key), "one of " + want, *v);
  }
  Status StringList(std::string_view key, std::vector<std::string>* out) {
    const nlohmann::json* v = Raw(key);
    if (!v) return Status::Ok();
    if (!v->is_array()) return JsonTypeError(Pointer(key), "a list of strings", *v);
    out->clear();
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string())
        return JsonTypeError(JoinPointer(Pointer(key), std::to_string(i)), "a string", (*v)[i]);
      out->push_back((*v)[i].get<std::string>());
    }
    return Status::Ok();
  }
  Status Required(std::string_view key) const {
    if (!Has(key)) return InvalidArgumentError(Pointer(key) + ": required field is missing");
    return Status::Ok();
  }
  // Fails on the first key that no accessor asked for: a misspelt field
  // must not be silently ignored.
  Status NoUnknownKeys() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!known_.count(it.key()))
        return InvalidArgumentError(Pointer(it.key()) + ": unknown field");
    return Status::Ok();
  }

 private:
  const nlohmann::json& j_;
  std::string pointer_;
  std::set<std::string> known_;
};

}  // namespace edgebench::protocol
