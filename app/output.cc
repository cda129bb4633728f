// What several commands print the same way.
#include <fmt/format.h>

#include <cstdio>

#include "app/cli.h"

namespace dossier::app {

Status PrintCreated(const Context& ctx, const std::string& id) {
  if (ctx.json) {
    PrintJson({{"id", id}});
  } else {
    std::printf("%s\n", id.c_str());
  }
  return Status::Ok();
}

std::string CountsText(int64_t documents, int64_t dicom_instances) {
  return fmt::format("{} document{}, {} DICOM instance{}", documents, documents == 1 ? "" : "s",
                     dicom_instances, dicom_instances == 1 ? "" : "s");
}

}  // namespace dossier::app
