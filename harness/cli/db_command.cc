// `edgebench db init|info|migrate|vacuum`: look after the results store.
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/exit_code.h"
#include "harness/cli/command.h"
#include "harness/cli/format.h"
#include "store/store.h"

namespace edgebench::cli {

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

struct DbOptions {
  std::string path = kDefaultDbPath;
  bool json = false;
};

CLI::App* AddLeaf(CLI::App& db, const char* name, const char* help, DbOptions& o) {
  CLI::App* sub = db.add_subcommand(name, help);
  sub->add_option("--db", o.path, "Store file")->capture_default_str();
  return sub;
}

int Init(const DbOptions& o) {
  const bool existed = Exists(o.path);
  auto store = store::Store::Open(o.path, {.migrate = false});
  if (!store.ok()) return ReportError(store.status());
  const int before = (*store)->schema_version();
  auto migrated = (*store)->Migrate();
  if (!migrated.ok()) return ReportError(migrated.status());
  const int after = (*store)->schema_version();
  if (!existed)
    std::printf("created %s (schema v%d)\n", o.path.c_str(), after);
  else if (before != after)
    std::printf("%s: migrated from schema v%d to v%d\n", o.path.c_str(), before, after);
  else
    std::printf("%s: already initialised (schema v%d)\n", o.path.c_str(), after);
  return kExitOk;
}

int Info(const DbOptions& o) {
  auto store = store::Store::Open(o.path, {.create_if_missing = false, .migrate = false});
  if (!store.ok()) return ReportError(store.status());
  auto info = (*store)->Info();
  if (!info.ok()) return ReportError(info.status());
  if (o.json) {
    nlohmann::json j = {
        {"path", info->path},
        {"schema_version", info->schema_version},
        {"latest_version", info->latest_version},
        {"journal_mode", info->journal_mode},
        {"size_bytes", info->size_bytes},
        {"wal_bytes", info->wal_bytes},
        {"page_size", info->page_size},
        {"page_count", info->page_count},
        {"freelist_count", info->freelist_count},
        {"last_sweep", info->last_sweep_uuid},
    };
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& t : info->tables) tables[t.table] = t.rows;
    j["tables"] = tables;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("store:      %s\n", info->path.c_str());
  if (info->schema_version == info->latest_version)
    std::printf("schema:     v%d (latest)\n", info->schema_version);
  else
    std::printf("schema:     v%d, needs migration to v%d (run `edgebench db migrate`)\n",
                info->schema_version, info->latest_version);
  std::printf("journal:    %s\n", info->journal_mode.c_str());
  std::printf("size:       %s (+ %s WAL), %lld pages of %lld B, %lld free\n",
              HumanBytes(info->size_bytes).c_str(), HumanBytes(info->wal_bytes).c_str(),
              static_cast<long long>(info->page_count),
              static_cast<long long>(info->page_size),
              static_cast<long long>(info->freelist_count));
  for (const auto& t : info->tables)
    std::printf("%-10s  %lld\n", (t.table + ":").c_str(), static_cast<long long>(t.rows));
  if (!info->last_sweep_uuid.empty())
    std::printf("last sweep: %s\n", info->last_sweep_uuid.c_str());
  return kExitOk;
}

int Migrate(const DbOptions& o) {
  auto store = store::Store::Open(o.path, {.create_if_missing = false, .migrate = false});
  if (!store.ok()) return ReportError(store.status());
  auto before = (*store)->Migrate();
  if (!before.ok()) return ReportError(before.status());
  const int after = (*store)->schema_version();
  if (*before == after)
    std::printf("%s: already at schema v%d\n", o.path.c_str(), after);
  else
    std::printf("%s: migrated from schema v%d to v%d\n", o.path.c_str(), *before, after);
  return kExitOk;
}

int Vacuum(const DbOptions& o) {
  auto store = store::Store::Open(o.path, {.create_if_missing = false, .migrate = false});
  if (!store.ok()) return ReportError(store.status());
  auto freed = (*store)->Vacuum();
  if (!freed.ok()) return ReportError(freed.status());
  std::printf("%s: vacuumed, %s freed\n", o.path.c_str(), HumanBytes(*freed).c_str());
  return kExitOk;
}

}  // namespace

void AddDbCommand(CLI::App& app, Action* action) {
  auto o = std::make_shared<DbOptions>();
  CLI::App* db = app.add_subcommand("db", "Create, inspect, migrate or compact the results store");
  db->require_subcommand(1);
  AddLeaf(*db, "init", "Create the store (or migrate an older one)", *o)
      ->final_callback([o, action] { *action = [o] { return Init(*o); }; });
  CLI::App* info = AddLeaf(*db, "info", "Show schema version, size and row counts", *o);
  info->add_flag("--json", o->json, "Print JSON");
  info->final_callback([o, action] { *action = [o] { return Info(*o); }; });
  AddLeaf(*db, "migrate", "Migrate the store to this build's schema", *o)
      ->final_callback([o, action] { *action = [o] { return Migrate(*o); }; });
  AddLeaf(*db, "vacuum", "Reclaim free pages and truncate the WAL", *o)
      ->final_callback([o, action] { *action = [o] { return Vacuum(*o); }; });
}

}  // namespace edgebench::cli
