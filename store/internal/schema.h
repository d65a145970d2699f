// store/internal/schema.h — the migrations that build the schema, one per version.
//
// Migration N turns a version N-1 file into version N. A migration is never
// edited after it has shipped: a change is a new migration. Metric columns
// are not part of any migration; the store adds a column for every field of
// protocol/metrics.h that a table lacks (additive, so it is always safe).
//
// Thread-safety: functions only; the caller owns the connection.
#pragma once

#include "base/status.h"
#include "store/internal/sqlite.h"

namespace edgebench::store::internal {

int LatestVersion();

// Migrates `db` from its PRAGMA user_version up to `target`, one transaction
// per step. REQUIRES: current version <= target <= LatestVersion().
Status MigrateTo(Db& db, int target);

// Adds the columns of protocol/metrics.h missing from runs and reps.
Status EnsureMetricColumns(Db& db);

}  // namespace edgebench::store::internal
