// Poppler, opened safely. Private to ocr/.
#pragma once

#include <poppler/cpp/poppler-document.h>

#include <cstdint>
#include <memory>
#include <span>

#include "common/status.h"

namespace dossier::ocr::internal {

// Opens a PDF from memory, refusing what a clinic could not open either (kRejected, with a
// reason a patient can act on): over 2 GiB, damaged, locked by a user password, no pages.
// Poppler does not copy the bytes: `pdf` must outlive the document. Its error chatter is
// silenced.
Result<std::unique_ptr<poppler::document>> OpenPdf(std::span<const uint8_t> pdf);

}  // namespace dossier::ocr::internal
