// One OCR analyzer (real Tesseract, Debian's rus/eng/osd data) shared by the tests of a suite.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>

#include "ocr/ocr.h"
#include "tests/test_util.h"

namespace dossier::ocr {

inline std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class AnalyzerTestBase : public testing::TempDirTest {
 protected:
  static void SetUpTestSuite() {
    auto a = Analyzer::Create({});
    ASSERT_TRUE(a.ok()) << a.status().message();
    analyzer_ = std::move(a).value().release();
  }
  static void TearDownTestSuite() {
    delete analyzer_;
    analyzer_ = nullptr;
  }

  static inline Analyzer* analyzer_ = nullptr;
};

}  // namespace dossier::ocr
