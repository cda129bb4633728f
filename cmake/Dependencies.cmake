# Every dependency is a Debian 12 package installed by scripts/install-deps.sh.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(LibArchive REQUIRED)
find_package(GTest REQUIRED)
include(GoogleTest)
# pkg-config dcmtk is broken on Debian 12; its CMake package works.
find_package(DCMTK REQUIRED NO_MODULE)

pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)  # SHA-256 with the CPU's SHA extensions; AES
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)  # PBKDF2 and HMAC-SHA1 of ZIP AES
find_package(ZLIB REQUIRED)  # CRC-32 of unencrypted ZIP parts
pkg_check_modules(POPPLER_CPP REQUIRED IMPORTED_TARGET poppler-cpp)
pkg_check_modules(TESSERACT REQUIRED IMPORTED_TARGET tesseract)
pkg_check_modules(LEPTONICA REQUIRED IMPORTED_TARGET lept)
pkg_check_modules(QPDF REQUIRED IMPORTED_TARGET libqpdf)  # finds the scanned pages of a PDF
pkg_check_modules(EXIF REQUIRED IMPORTED_TARGET libexif)  # the orientation of phone photos
pkg_check_modules(HEIF REQUIRED IMPORTED_TARGET libheif)  # iPhone photos (HEIC), decoded in the worker
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # dossier serve (TLS via OpenSSL)
find_package(OpenSSL 3 REQUIRED COMPONENTS SSL)
