// Row readers shared by the catalog's query files; private to the catalog
// module (other modules use the functions in include/vodd/catalog/).
#pragma once

#include <algorithm>
#include <string_view>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/catalog/jobs.h"

namespace vodd::catalog {

// Steps `s` to its end and returns `read(s)` of each row, in order.
template <typename Read>
auto ReadRows(Stmt& s, Read read) -> Result<std::vector<decltype(read(s))>> {
  std::vector<decltype(read(s))> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) return out;
    out.push_back(read(s));
  }
}

// The columns of table `jobs` that ReadJob reads, unqualified: select them
// from `jobs` alone (a query that needs another table's column uses a
// subquery after them).
inline constexpr std::string_view kJobColumns =
    "id,kind,video_id,idem_key,payload,state,priority,attempts,max_attempts,"
    "run_after,lease_owner,lease_token,lease_until,progress,fps,eta_ms,"
    "last_error,created_at,updated_at,started_at,finished_at,parent_id,"
    "fair_key";
// Counted from the list, so a query's own columns always start here.
inline constexpr int kJobColumnCount =
    1 +
    static_cast<int>(std::count(kJobColumns.begin(), kJobColumns.end(), ','));
// The Job in the first kJobColumnCount columns of a row selected with
// kJobColumns; a query's own columns follow.
Job ReadJob(const Stmt& s);

}  // namespace vodd::catalog
