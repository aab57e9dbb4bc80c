// Row readers shared by the catalog's query files; private to the catalog
// module (other modules use the functions in include/vodd/catalog/).
#pragma once

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
extern const char* const kJobColumns;
// The Job in the first kJobColumnCount columns of a row selected with
// kJobColumns; a query's own columns follow.
Job ReadJob(const Stmt& s);
inline constexpr int kJobColumnCount = 23;

}  // namespace vodd::catalog
