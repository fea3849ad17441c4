#!/usr/bin/env bash
# Installs the Debian packages docexchange needs (idempotent: installs only what is missing).
# Usage: scripts/setup-system.sh [runtime|test]
set -euo pipefail
mode="${1:-test}"
runtime_pkgs=(poppler-utils qpdf ghostscript fonts-liberation2 fonts-noto-core libreoffice-writer-nogui python3-uno
              tesseract-ocr tesseract-ocr-vie xmlsec1 opensc softhsm2 libnss3-tools)
# Java and the VNPT VDXP SDK's dependencies (tests/interop runs the real SDK; ../shared/vendor/vdxp/README.md)
test_pkgs=(postgresql chromium openjdk-17-jdk-headless libhttpclient-java libhttpmime-java libjsoup-java libxerces2-java
           libjdom2-java libgoogle-gson-java libandroid-json-java libcommons-codec-java libcommons-logging-java
           libguice-java libslf4j-java libguava-java libcommons-io-java)
pkgs=("${runtime_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"; exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: done"
