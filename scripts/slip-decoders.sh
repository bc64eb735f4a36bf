#!/usr/bin/env bash
# The printed gate pass is checked by decoding its QR code and barcode from the rendered PDF:
# pdftoppm (poppler-utils) rasterises it, zbarimg (zbar-tools) decodes. Idempotent and quiet;
# without them the slip decode test says so and skips.
set -u
if command -v pdftoppm >/dev/null 2>&1 && command -v zbarimg >/dev/null 2>&1; then
  exit 0
fi
{ apt-get update -qq && apt-get install -y -qq poppler-utils zbar-tools; } >/dev/null 2>&1 \
  || echo "!! poppler-utils/zbar-tools could not be installed: the slip decode test will skip"
exit 0
