// The output parsers of command_runner.h: llama-bench's JSON Lines and the
// timing report llama.cpp programs print on exit.

#include <charconv>
#include <cstdint>
#include <deque>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "backends/command/command_runner.h"

namespace edgebench::command {

namespace {

constexpr std::string_view kLlamaBenchJsonl = "llama-bench-jsonl";
constexpr std::string_view kLlamaPerf = "llama-perf";

// The lines of a text one at a time, without their "\n" or "\r\n", numbered
// from 1. (Not a vector of lines: stdout may hold millions of them.)
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}

  bool Next(std::string_view* line) {
    if (rest_.empty()) return false;
    const size_t nl = rest_.find('\n');
    *line = rest_.substr(0, nl);
    rest_ = nl == std::string_view::npos ? std::string_view() : rest_.substr(nl + 1);
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    ++number_;
    return true;
  }
  int number() const { return number_; }

 private:
  std::string_view rest_;
  int number_ = 0;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The start of a line for an error message.
std::string Snippet(std::string_view line) {
  constexpr size_t kMax = 80;
  if (line.size() <= kMax) return std::string(line);
  return std::string(line.substr(0, kMax)) + "...";
}

// ---- llama-bench -o jsonl --------------------------------------------------

// The fields that differ between the tests of one configuration; every other
// field (model, threads, depth, batch, types, build) must be the same on all
// lines.
bool IsPerTestField(const std::string& key) {
  static const std::set<std::string> kFields = {"n_prompt",  "n_gen",      "test_time",
                                                "avg_ns",    "stddev_ns",  "avg_ts",
                                                "stddev_ts", "samples_ns", "samples_ts"};
  return kFields.count(key) > 0;
}

struct BenchTest {
  int line = 0;
  int n_prompt = 0;
  int n_gen = 0;
  int64_t n_depth = 0;
  std::vector<uint64_t> samples_ns;
  const nlohmann::json* object = nullptr;
};

// "pp512", "tg128", "pp512+tg128", with " @ d1024" when there is a depth,
// as llama-bench names its tests.
std::string TestName(const BenchTest& t) {
  std::string name;
  if (t.n_prompt > 0) name = "pp" + std::to_string(t.n_prompt);
  if (t.n_gen > 0) name += (name.empty() ? "tg" : "+tg") + std::to_string(t.n_gen);
  if (t.n_depth > 0) name += " @ d" + std::to_string(t.n_depth);
  return name;
}

class BenchParser {
 public:
  Result<std::vector<ExternalRep>> Parse(std::string_view stdout_text) {
    LineReader lines(stdout_text);
    for (std::string_view line; lines.Next(&line);) {
      if (Trim(line).empty()) continue;
      RETURN_IF_ERROR(AddLine(lines.number(), line));
    }
    if (!pp_ && !tg_ && !pg_) {
      return DataLossError(std::string(kLlamaBenchJsonl) +
                           ": no test lines in stdout (did llama-bench stop before its "
                           "first test, or run without -o jsonl?)");
    }
    return Combine();
  }

 private:
  static Status LineError(int line, const std::string& what) {
    return DataLossError(std::string(kLlamaBenchJsonl) + ": line " +
                         std::to_string(line) + ": " + what);
  }

  static Result<int64_t> Count(const nlohmann::json& o, const char* key, int line) {
    auto it = o.find(key);
    if (it == o.end()) {
      return LineError(line, std::string("no \"") + key + "\" field");
    }
    if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
        it->get<int64_t>() > std::numeric_limits<int>::max()) {
      return LineError(line, std::string("\"") + key +
                                 "\": expected a non-negative integer, got " +
                                 it->dump());
    }
    return it->get<int64_t>();
  }

  Status AddLine(int line, std::string_view text) {
    if (Trim(text) == "[") {
      return LineError(line,
                       "a JSON array starts here: llama-bench -o json, not -o jsonl?");
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      std::string why = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, ..." reads
      // better without the bracketed id.
      if (const size_t close = why.find("] "); close != std::string::npos) {
        why = why.substr(close + 2);
      }
      return LineError(line, "not JSON (" + why + "): " + Snippet(text));
    }
    if (!j.is_object()) return LineError(line, "not a JSON object: " + Snippet(text));
    objects_.push_back(std::move(j));
    const nlohmann::json& o = objects_.back();

    BenchTest t;
    t.line = line;
    t.object = &o;
    ASSIGN_OR_RETURN(const int64_t n_prompt, Count(o, "n_prompt", line));
    ASSIGN_OR_RETURN(const int64_t n_gen, Count(o, "n_gen", line));
    t.n_prompt = static_cast<int>(n_prompt);
    t.n_gen = static_cast<int>(n_gen);
    if (o.contains("n_depth")) {
      ASSIGN_OR_RETURN(t.n_depth, Count(o, "n_depth", line));
    }
    auto samples = o.find("samples_ns");
    if (samples == o.end()) return LineError(line, "no \"samples_ns\" field");
    if (!samples->is_array() || samples->empty()) {
      return LineError(line,
                       "\"samples_ns\": expected a non-empty array of integers, got " +
                           Snippet(samples->dump()));
    }
    for (const nlohmann::json& s : *samples) {
      if (!s.is_number_unsigned()) {
        return LineError(line, "\"samples_ns\": expected non-negative integers, got " +
                                   Snippet(s.dump()));
      }
      t.samples_ns.push_back(s.get<uint64_t>());
    }
    if (t.n_prompt == 0 && t.n_gen == 0) {
      return LineError(line, "n_prompt and n_gen are both 0: not a test");
    }

    // One configuration per output: the runtime runs one command per run.
    const BenchTest* first = pp_ ? &*pp_ : tg_ ? &*tg_ : pg_ ? &*pg_ : nullptr;
    if (first) RETURN_IF_ERROR(SameConfiguration(*first, t));

    std::optional<BenchTest>* slot = nullptr;
    const char* kind = nullptr;
    const char* flag = nullptr;
    if (t.n_gen == 0) {
      slot = &pp_, kind = "prompt", flag = "-p";
    } else if (t.n_prompt == 0) {
      slot = &tg_, kind = "generation", flag = "-n";
    } else {
      slot = &pg_, kind = "prompt+generation", flag = "-pg";
    }
    if (slot->has_value()) {
      return LineError(line, std::string("a second ") + kind + " test (" + TestName(t) +
                                 ") after line " + std::to_string((*slot)->line) + " (" +
                                 TestName(**slot) + "); expected one " + flag +
                                 " value per command");
    }
    *slot = std::move(t);
    return Status::Ok();
  }

  static Status SameConfiguration(const BenchTest& first, const BenchTest& t) {
    const nlohmann::json& a = *first.object;
    const nlohmann::json& b = *t.object;
    std::set<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
    for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
    for (const std::string& key : keys) {
      if (IsPerTestField(key)) continue;
      const auto ia = a.find(key);
      const auto ib = b.find(key);
      const std::string va = ia == a.end() ? "(absent)" : Snippet(ia->dump());
      const std::string vb = ib == b.end() ? "(absent)" : Snippet(ib->dump());
      if (va == vb) continue;
      return LineError(t.line, TestName(t) + " differs from line " +
                                   std::to_string(first.line) + " (" + TestName(first) +
                                   ") in \"" + key + "\": " + vb + " vs " + va +
                                   "; expected one configuration per command (one value "
                                   "for each of -m, -t, -d, -b, ...)");
    }
    return Status::Ok();
  }

  Result<std::vector<ExternalRep>> Combine() const {
    const BenchTest* any = pp_ ? &*pp_ : tg_ ? &*tg_ : &*pg_;
    for (const std::optional<BenchTest>* t : {&pp_, &tg_, &pg_}) {
      if (t->has_value() && (*t)->samples_ns.size() != any->samples_ns.size()) {
        return LineError(
            (*t)->line,
            TestName(**t) + " has " + std::to_string((*t)->samples_ns.size()) +
                " samples but line " + std::to_string(any->line) + " (" + TestName(*any) +
                ") has " + std::to_string(any->samples_ns.size()));
      }
    }
    if (pg_ && pp_ && pg_->n_prompt != pp_->n_prompt) {
      return LineError(pg_->line,
                       TestName(*pg_) + " prefills " + std::to_string(pg_->n_prompt) +
                           " tokens but line " + std::to_string(pp_->line) + " (" +
                           TestName(*pp_) + ") " + std::to_string(pp_->n_prompt) +
                           "; expected one configuration per command");
    }
    if (pg_ && tg_ && pg_->n_gen != tg_->n_gen) {
      return LineError(pg_->line, TestName(*pg_) + " generates " +
                                      std::to_string(pg_->n_gen) + " tokens but line " +
                                      std::to_string(tg_->line) + " (" + TestName(*tg_) +
                                      ") " + std::to_string(tg_->n_gen) +
                                      "; expected one configuration per command");
    }
    std::vector<ExternalRep> reps(any->samples_ns.size());
    for (size_t i = 0; i < reps.size(); ++i) {
      ExternalRep& r = reps[i];
      if (pp_) {
        r.n_prompt = pp_->n_prompt;
        r.prefill_ms = static_cast<double>(pp_->samples_ns[i]) / 1e6;
      }
      if (tg_) {
        r.n_gen = tg_->n_gen;
        r.decode_ms = static_cast<double>(tg_->samples_ns[i]) / 1e6;
      }
      if (pg_) {
        r.n_prompt = pg_->n_prompt;
        r.n_gen = pg_->n_gen;
        r.total_ms = static_cast<double>(pg_->samples_ns[i]) / 1e6;
      }
    }
    return reps;
  }

  std::deque<nlohmann::json> objects_;  // stable addresses: BenchTest points here
  std::optional<BenchTest> pp_;         // n_prompt > 0, n_gen == 0
  std::optional<BenchTest> tg_;         // n_prompt == 0, n_gen > 0
  std::optional<BenchTest> pg_;         // both
};

// ---- llama.cpp timing report -----------------------------------------------

// The functions that have printed the report, newest first:
// llama_perf_context_print (llama-simple, llama-bench; since 2024-09),
// common_perf_print (llama-completion, llama-cli; gpt_perf_print before
// 2024-11, which called llama_perf_print), llama_print_timings (until
// 2024-09). Their "load time", "prompt eval time" and "eval time" lines have
// kept one shape since 2023:
//   <fn>: prompt eval time =   12.34 ms /     8 tokens (  1.54 ms per token, ...)
//   <fn>:        eval time =   56.78 ms /    15 runs   (  3.79 ms per token, ...)
// llama.cpp's log may put a level or timestamp before <fn>, so it is looked
// for anywhere in the line.
constexpr std::string_view kPerfFunctions[] = {
    "llama_perf_context_print:", "common_perf_print:", "llama_perf_print:",
    "llama_print_timings:"};

struct Timing {
  int line = 0;  // 0: not seen
  double ms = 0;
  int64_t count = -1;  // -1: the line has no "/ N tokens"
};

// Reads "  12.34 ms / 8 tokens (...)" or "  12.34 ms".
std::optional<Timing> ReadTiming(std::string_view s) {
  Timing t;
  s = Trim(s);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), t.ms);
  if (ec != std::errc() || !(t.ms >= 0)) return std::nullopt;
  s = Trim(s.substr(static_cast<size_t>(end - s.data())));
  if (s.substr(0, 2) != "ms") return std::nullopt;
  s = Trim(s.substr(2));
  if (s.empty() || s.front() != '/') return t;
  s = Trim(s.substr(1));
  const auto [end2, ec2] = std::from_chars(s.data(), s.data() + s.size(), t.count);
  if (ec2 != std::errc() || t.count < 0 || t.count > std::numeric_limits<int>::max()) {
    return std::nullopt;
  }
  s = Trim(s.substr(static_cast<size_t>(end2 - s.data())));
  if (s.substr(0, 6) != "tokens" && s.substr(0, 4) != "runs") return std::nullopt;
  return t;
}

struct PerfReport {
  Timing load, prompt, eval;
  std::string_view stream;
};

Status PerfError(std::string_view stream, int line, const std::string& what) {
  return DataLossError(std::string(kLlamaPerf) + ": " + std::string(stream) + " line " +
                       std::to_string(line) + ": " + what);
}

// Finds the report in one stream; `found` tells whether it had any timing
// line at all.
Result<PerfReport> FindPerfReport(std::string_view text, std::string_view stream,
                                  bool* found) {
  PerfReport report;
  report.stream = stream;
  *found = false;
  LineReader lines(text);
  for (std::string_view line; lines.Next(&line);) {
    const int line_no = lines.number();
    size_t at = std::string_view::npos;
    std::string_view fn;
    for (std::string_view f : kPerfFunctions) {
      at = line.find(f);
      if (at != std::string_view::npos) {
        fn = f;
        break;
      }
    }
    if (at == std::string_view::npos) continue;
    std::string_view rest = line.substr(at + fn.size());
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view label = Trim(rest.substr(0, eq));
    Timing* slot = label == "load time"          ? &report.load
                   : label == "prompt eval time" ? &report.prompt
                   : label == "eval time"        ? &report.eval
                                                 : nullptr;
    if (!slot) continue;  // sampling, total, unaccounted time, graphs reused
    *found = true;
    if (slot->line != 0) {
      return PerfError(stream, line_no,
                       "a second \"" + std::string(label) + "\" (the first on line " +
                           std::to_string(slot->line) +
                           "): expected one timing report, one generation per process");
    }
    std::optional<Timing> t = ReadTiming(rest.substr(eq + 1));
    if (!t || (slot != &report.load && t->count < 0)) {
      return PerfError(stream, line_no,
                       "cannot read \"" + std::string(label) +
                           "\" (expected \"= <ms> ms" +
                           (slot != &report.load ? " / <n> tokens" : "") +
                           "\"): " + Snippet(Trim(line)));
    }
    t->line = line_no;
    *slot = *t;
  }
  return report;
}

Result<std::vector<ExternalRep>> ParseLlamaPerf(std::string_view stdout_text,
                                                std::string_view stderr_text) {
  bool found = false;
  // llama.cpp logs to stderr; stdout is searched for a wrapper that merged
  // the two.
  ASSIGN_OR_RETURN(PerfReport report, FindPerfReport(stderr_text, "stderr", &found));
  if (!found) {
    ASSIGN_OR_RETURN(report, FindPerfReport(stdout_text, "stdout", &found));
  }
  if (!found) {
    return DataLossError(
        std::string(kLlamaPerf) +
        ": no timing lines (llama_perf_context_print, common_perf_print or "
        "llama_print_timings: \"prompt eval time = ...\") in stderr or "
        "stdout; did the program run to its end, with --no-perf off?");
  }
  const int first = report.load.line     ? report.load.line
                    : report.prompt.line ? report.prompt.line
                                         : report.eval.line;
  for (const auto& [timing, label] : {std::pair{&report.prompt, "prompt eval time"},
                                      std::pair{&report.eval, "eval time"}}) {
    if (timing->line == 0) {
      return PerfError(report.stream, first,
                       std::string("the timing report has no \"") + label +
                           "\" line (output cut short?)");
    }
  }
  // llama.cpp prints 0.00 ms when nothing was timed (--no-perf, or no batch
  // of that kind) and then clamps the count to 1: not a measurement.
  if (report.prompt.ms == 0 && report.eval.ms == 0) {
    return PerfError(report.stream, report.prompt.line,
                     "prompt eval and eval times are both 0 (run with --no-perf?)");
  }
  ExternalRep rep;
  if (report.load.line != 0) rep.load_ms = report.load.ms;
  if (report.prompt.ms > 0) {
    rep.n_prompt = static_cast<int>(report.prompt.count);
    rep.prefill_ms = report.prompt.ms;
  }
  if (report.eval.ms > 0) {
    rep.n_gen = static_cast<int>(report.eval.count);
    rep.decode_ms = report.eval.ms;
  }
  return std::vector<ExternalRep>{rep};
}

}  // namespace

Result<std::vector<ExternalRep>> ParseOutput(const std::string& parser,
                                             const std::string& stdout_text,
                                             const std::string& stderr_text) {
  if (parser == kLlamaBenchJsonl) return BenchParser().Parse(stdout_text);
  if (parser == kLlamaPerf) return ParseLlamaPerf(stdout_text, stderr_text);
  return InvalidArgumentError("unknown output parser \"" + parser +
                              "\" (known: llama-bench-jsonl, llama-perf)");
}

}  // namespace edgebench::command
