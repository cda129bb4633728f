#!/usr/bin/env bash
# Installs the Debian 12 packages Dossier needs to build, run and test, and web/'s npm
# packages from its lockfile (`npm ci`).
# Idempotent: only missing packages are installed; apt is not touched when all are present,
# npm only when web/node_modules is missing or older than web/package-lock.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# web/: the npm packages the portal and its tests use, exactly as the lockfile says.
npm_packages() {
  local lock=$root/web/package-lock.json stamp=$root/web/node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ "$stamp" -nt "$lock" ]; then return; fi
  echo "install-deps: npm ci in web/"
  (cd "$root/web" && npm ci --no-audit --no-fund --loglevel=error)
}

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config time
  # libraries the code links
  libsodium-dev libseccomp-dev libssl-dev libsqlite3-dev libqpdf-dev libexif-dev libcli11-dev nlohmann-json3-dev libfmt-dev libarchive-dev nettle-dev zlib1g-dev
  libpoppler-cpp-dev libtesseract-dev libleptonica-dev libdcmtk-dev libgtest-dev libgmock-dev libcpp-httplib-dev
  libheif-dev
  # OCR language data (osd is not pulled in by libtesseract-dev)
  tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng tesseract-ocr-osd
  # test-only tools and data
  python3-pydicom 7zip age dicom3tools dcmtk poppler-utils qpdf sqlite3 openssl
  libheif-examples  # heif-enc: real HEIC photos for the tests
  wrk curl  # bench/serve.sh load: the API under load while a disc is ingested
  # the OCR evaluation-set generator (samples/make_ocr_set.py) and its fonts
  python3-pil python3-numpy fonts-dejavu-core fonts-liberation fonts-freefont-ttf
  fonts-dancingscript fonts-ecolier-court fonts-dkg-handwriting fonts-breip fonts-bwht
  fonts-humor-sans fonts-femkeklaver fonts-kaushanscript
  # the real-material evaluation set (samples/make_real_set.py): scikit-image's photographs,
  # textures and photographed pages, old and typewriter faces, PDFs of scans
  python3-skimage python3-img2pdf fonts-oldstandard fonts-gnutypewriter fonts-cmu
  fonts-paratype
  # benchmark reference tools
  libarchive-tools ocrmypdf
)

# Node.js and npm: Debian's, unless the machine has them already.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  npm_packages
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or install them with sudo apt-get install)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
npm_packages
