// Series previews: DCMTK's dcmimage renders, its PNG plugin encodes, into memory.
// dcmimage.h first: dipipng.h needs the declarations it pulls in.
#include <dcmtk/dcmimgle/dcmimage.h>
// (keep the order)
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmimage/dipipng.h>
#include <dcmtk/dcmimage/diregist.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "dicom/dicom.h"
#include "dicom/internal/parse.h"

namespace dossier::dicom {

Result<std::vector<uint8_t>> Preview(std::span<const uint8_t> bytes, int max_side) {
  DcmFileFormat ff;
  DOSSIER_RETURN_IF_ERROR(internal::Parse(bytes, ff));
  DcmDataset* ds = ff.getDataset();
  if (!ds->tagExists(DCM_PixelData)) return Rejected("no image to preview");
  long frames = 1;
  ds->findAndGetLongInt(DCM_NumberOfFrames, frames);
  const unsigned long frame = frames > 1 ? static_cast<unsigned long>(frames / 2) : 0;
  DicomImage image(&ff, ds->getOriginalXfer(), CIF_UsePartialAccessToPixelData, frame, 1);
  if (image.getStatus() != EIS_Normal) {
    return Rejected(std::string("cannot render the image: ") +
                    DicomImage::getString(image.getStatus()));
  }
  if (image.isMonochrome()) {
    if (image.getWindowCount() > 0) {
      image.setWindow(0);
    } else {
      image.setMinMaxWindow();
    }
  }
  const unsigned long w = image.getWidth(), h = image.getHeight();
  const unsigned long side = std::max(w, h);
  std::unique_ptr<DicomImage> scaled;
  if (side > static_cast<unsigned long>(max_side)) {
    const double f = static_cast<double>(max_side) / side;
    scaled.reset(image.createScaledImage(std::max(1ul, static_cast<unsigned long>(w * f)),
                                         std::max(1ul, static_cast<unsigned long>(h * f)), 1, 0));
    if (scaled == nullptr) return Rejected("cannot scale the image");
  }
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = ::open_memstream(&buffer, &size);
  if (out == nullptr) return Internal("no memory for the preview");
  DiPNGPlugin png;
  const int ok = (scaled ? *scaled : image).writePluginFormat(&png, out, 0);
  std::fclose(out);
  std::vector<uint8_t> result(reinterpret_cast<uint8_t*>(buffer),
                              reinterpret_cast<uint8_t*>(buffer) + size);
  std::free(buffer);
  if (!ok || result.empty()) return Rejected("cannot encode the preview");
  return result;
}

}  // namespace dossier::dicom
