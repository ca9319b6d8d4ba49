#!/usr/bin/env bash
# Installs Debian's Chromium for the HTML report's browser test (test/browser/), unless
# /usr/bin/chromium is already there. playwright-core drives it through executablePath; it never
# downloads a browser of its own. Needs root (CI runs as root) and the Debian package lists.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
/usr/bin/chromium --version
