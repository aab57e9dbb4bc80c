// Schema migrations by PRAGMA user_version, one transaction each. The binary
// refuses to open a catalog whose version is newer than it knows.
#pragma once

#include "vodd/catalog/db.h"

namespace vodd::catalog {

// The schema version this binary writes.
int SchemaVersion();
// Migrates `db` (read-write) to SchemaVersion(). Errors: kFailedPrecondition
// for a newer schema; kIo from SQLite.
Status Migrate(Db& db);
// Current user_version of `db`.
Result<int> UserVersion(Db& db);

}  // namespace vodd::catalog
