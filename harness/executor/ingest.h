// harness/executor/ingest.h — reads one runtime process's event stream
// (protocol/events.h) and turns each finished repetition into a store
// record, as the lines arrive.
//
// The executor sends the runtime a spec whose runs ("entries") each cover
// consecutive slots of one configuration: entry k runs the slots
// entries[k].slots, the runtime's repetition r being slots[r]. The ingest
// maps the runtime's (run_id, rep) back to (configuration, slot) and keeps
// the events of the repetition in flight (prefill, decode, samples) until
// its rep_end; a repetition whose rep_end never came is not reported, so a
// killed runtime never leaves half a repetition behind.
//
// Thread-safety: none; one ingest per runtime process, fed from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "harness/sweep/plan.h"
#include "store/store.h"

namespace edgebench::harness {

// One run of the spec sent to the runtime.
struct SpecEntry {
  size_t config = 0;               // index into Plan::configs
  std::vector<sweep::Slot> slots;  // the runtime's repetitions 0, 1, ...
  std::string run_id;              // unique within the spec
};

struct IngestedRep {
  size_t config = 0;
  sweep::Slot slot;
  store::RepRecord rep;  // run_id left 0: the executor knows the run
  nlohmann::json rep_start;  // the rep_start event (cooldown, temperatures)
};

struct IngestedError {
  std::optional<size_t> config;  // the configuration it names, if any
  int rep = -1;
  std::string code;     // StatusCodeName: "resource_exhausted", ...
  std::string message;
  bool fatal = false;   // the runtime stops: nothing after it runs
};

struct IngestCallbacks {
  std::function<void(const nlohmann::json&)> hello;
  std::function<void(const nlohmann::json&)> load;
  std::function<void(size_t config, const sweep::Slot&, const nlohmann::json& event)> rep_start;
  std::function<void(IngestedRep&&)> rep;
  std::function<void(const IngestedError&)> error;
  std::function<void(const nlohmann::json&)> done;
};

class EventIngest {
 public:
  EventIngest(std::vector<SpecEntry> entries, IngestCallbacks callbacks);

  // One stdout line. A line that is not a well-formed event, or one that
  // names a run or repetition the spec does not have, is kDataLoss naming
  // the line number; the stream goes on (later lines are still read).
  Status Feed(std::string_view line);

  // The configuration of the repetition in flight (rep_start seen, rep_end
  // not yet), or else of the next slot to run; none when all ran.
  std::optional<size_t> CurrentConfig() const;
  bool done() const { return done_; }
  const std::string& done_status() const { return done_status_; }
  bool fatal_error() const { return fatal_; }
  int64_t lines() const { return lines_; }

 private:
  Status HandleRepEvent(const std::string& kind, const nlohmann::json& e);
  Result<std::pair<size_t, int>> Locate(const nlohmann::json& e) const;

  std::vector<SpecEntry> entries_;
  IngestCallbacks cb_;
  int64_t lines_ = 0;
  bool done_ = false;
  bool fatal_ = false;
  std::string done_status_;
  // The repetition in flight.
  bool in_rep_ = false;
  size_t entry_ = 0;
  int rep_ = 0;
  nlohmann::json rep_start_, prefill_, decode_;
  std::vector<store::SampleRecord> samples_;
  // The next slot expected: (entry, rep) after the last rep_end.
  size_t next_entry_ = 0;
  int next_rep_ = 0;
};

// A runtime sample ("mem.rss_kb": 1024) as store rows: source "mem", name
// "rss_kb". A name without a dot has source "".
std::vector<store::SampleRecord> SampleRows(const nlohmann::json& sample_event);

}  // namespace edgebench::harness
