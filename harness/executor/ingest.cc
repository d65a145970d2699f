#include "harness/executor/ingest.h"

#include <map>
#include <utility>

#include "protocol/events.h"
#include "protocol/metrics.h"

namespace edgebench::harness {

using nlohmann::json;

std::vector<store::SampleRecord> SampleRows(const json& e) {
  std::vector<store::SampleRecord> rows;
  if (!e.contains("t_ns") || !e["t_ns"].is_number_integer() || !e.contains("v") ||
      !e["v"].is_object())
    return rows;
  const int64_t t = e["t_ns"].get<int64_t>();
  for (auto it = e["v"].begin(); it != e["v"].end(); ++it) {
    if (!it.value().is_number()) continue;
    const std::string& key = it.key();
    const size_t dot = key.find('.');
    store::SampleRecord r;
    r.t_ns = t;
    if (dot == std::string::npos) {
      r.name = key;
    } else {
      r.source = key.substr(0, dot);
      r.name = key.substr(dot + 1);
    }
    r.value = it.value().get<double>();
    rows.push_back(std::move(r));
  }
  return rows;
}

EventIngest::EventIngest(std::vector<SpecEntry> entries, IngestCallbacks callbacks)
    : entries_(std::move(entries)), cb_(std::move(callbacks)) {}

std::optional<size_t> EventIngest::CurrentConfig() const {
  if (in_rep_) return entries_[entry_].config;
  size_t e = next_entry_;
  int r = next_rep_;
  if (e < entries_.size() && r >= static_cast<int>(entries_[e].slots.size())) {
    ++e;
    r = 0;
  }
  if (e < entries_.size()) return entries_[e].config;
  return std::nullopt;
}

Result<std::pair<size_t, int>> EventIngest::Locate(const json& e) const {
  if (!e.contains("run_id") || !e["run_id"].is_string() || !e.contains("rep") ||
      !e["rep"].is_number_integer())
    return DataLossError("needs run_id and rep");
  const std::string id = e["run_id"].get<std::string>();
  const int rep = e["rep"].get<int>();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].run_id != id) continue;
    if (rep < 0 || rep >= static_cast<int>(entries_[i].slots.size()))
      return DataLossError("run \"" + id + "\" has no repetition " + std::to_string(rep));
    return std::make_pair(i, rep);
  }
  return DataLossError("the spec has no run \"" + id + "\"");
}

Status EventIngest::HandleRepEvent(const std::string& kind, const json& e) {
  ASSIGN_OR_RETURN(auto where, Locate(e));
  if (kind == "rep_start") {
    in_rep_ = true;
    entry_ = where.first;
    rep_ = where.second;
    rep_start_ = e;
    prefill_ = json();
    decode_ = json();
    samples_.clear();
    if (cb_.rep_start) cb_.rep_start(entries_[entry_].config, entries_[entry_].slots[rep_], e);
    return Status::Ok();
  }
  if (!in_rep_ || where.first != entry_ || where.second != rep_)
    return DataLossError(kind + " for a repetition that has not started");
  if (kind == "prefill") {
    prefill_ = e;
    return Status::Ok();
  }
  if (kind == "decode") {
    decode_ = e;
    return Status::Ok();
  }
  // rep_end: the repetition is complete on the host.
  in_rep_ = false;
  next_entry_ = entry_;
  next_rep_ = rep_ + 1;
  IngestedRep out;
  out.config = entries_[entry_].config;
  out.slot = entries_[entry_].slots[rep_];
  out.rep_start = std::move(rep_start_);
  store::RepRecord& r = out.rep;
  r.warmup = out.slot.warmup;
  r.t_start_ns = out.rep_start.value("t_ns", int64_t{0});
  if (prefill_.is_object() && prefill_.contains("t_request_ns") &&
      prefill_["t_request_ns"].is_number_integer())
    r.t_start_ns = prefill_["t_request_ns"].get<int64_t>();
  r.t_end_ns = e.value("t_end_ns", e.value("t_ns", int64_t{0}));
  r.n_prompt = e.value("n_prompt", 0);
  r.n_gen = e.value("n_gen", 0);
  if (decode_.is_object() && decode_.contains("token_ns") && decode_["token_ns"].is_array())
    for (const json& t : decode_["token_ns"])
      if (t.is_number_integer()) r.token_times_ns.push_back(t.get<int64_t>());
  if (e.contains("metrics") && e["metrics"].is_object())
    for (auto it = e["metrics"].begin(); it != e["metrics"].end(); ++it) {
      // Only the repetition metrics the store has columns for; a newer
      // runtime's extra metric is not an error for an older host.
      const protocol::MetricField* f = protocol::FindMetricField(it.key());
      if (f && f->scope == protocol::Scope::kRep && it.value().is_number())
        r.metrics[it.key()] = it.value().get<double>();
    }
  r.samples = std::move(samples_);
  samples_.clear();
  if (cb_.rep) cb_.rep(std::move(out));
  return Status::Ok();
}

Status EventIngest::Feed(std::string_view line) {
  ++lines_;
  const auto where = [&](const std::string& why) {
    return DataLossError("runtime output line " + std::to_string(lines_) + ": " + why);
  };
  if (line.empty()) return Status::Ok();
  json e = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (e.is_discarded() || !e.is_object() || !e.contains("ev") || !e["ev"].is_string())
    return where("not an event: " + std::string(line.substr(0, 120)));
  const std::string kind = e["ev"].get<std::string>();
  if (kind == "hello") {
    if (cb_.hello) cb_.hello(e);
  } else if (kind == "load") {
    if (cb_.load) cb_.load(e);
  } else if (kind == "sample") {
    // Samples between repetitions belong to none (the runtime's metrics
    // already used the one that opens the next repetition).
    if (in_rep_) {
      std::vector<store::SampleRecord> rows = SampleRows(e);
      samples_.insert(samples_.end(), rows.begin(), rows.end());
    }
  } else if (kind == "rep_start" || kind == "prefill" || kind == "decode" ||
             kind == "rep_end") {
    if (Status s = HandleRepEvent(kind, e); !s.ok()) return where(kind + ": " + s.message());
  } else if (kind == "error") {
    IngestedError err;
    err.code = e.value("code", std::string("unknown"));
    err.message = e.value("message", std::string());
    err.fatal = e.value("fatal", false);
    if (e.contains("run_id") && e["run_id"].is_string()) {
      const std::string id = e["run_id"].get<std::string>();
      for (const SpecEntry& s : entries_)
        if (s.run_id == id) err.config = s.config;
    }
    if (e.contains("rep") && e["rep"].is_number_integer()) err.rep = e["rep"].get<int>();
    // A run that failed (mid-repetition or before its first): the runtime
    // goes on with the next entry.
    if (err.config && in_rep_ && entries_[entry_].config == *err.config) {
      in_rep_ = false;
      next_entry_ = entry_ + 1;
      next_rep_ = 0;
    } else if (err.config && !in_rep_) {
      if (next_entry_ < entries_.size() &&
          next_rep_ >= static_cast<int>(entries_[next_entry_].slots.size())) {
        ++next_entry_;
        next_rep_ = 0;
      }
      if (next_entry_ < entries_.size() && entries_[next_entry_].config == *err.config) {
        ++next_entry_;
        next_rep_ = 0;
      }
    }
    if (err.fatal) fatal_ = true;
    if (cb_.error) cb_.error(err);
  } else if (kind == "done") {
    done_ = true;
    done_status_ = e.value("status", std::string());
    in_rep_ = false;
    if (cb_.done) cb_.done(e);
  } else {
    return where("unknown event \"" + kind + "\"");
  }
  return Status::Ok();
}

}  // namespace edgebench::harness
