// Shared by the tests that read ingest reports.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "ingest/ingest.h"

namespace dossier::ingest {

// The report line for `path`; a test failure (and an empty line) when there is none.
inline const ItemReport& Find(const IngestReport& r, const std::string& path) {
  for (const auto& i : r.items) {
    if (i.path == path) return i;
  }
  static const ItemReport none;
  ADD_FAILURE() << "no report line for " << path;
  return none;
}

}  // namespace dossier::ingest
