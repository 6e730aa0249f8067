#!/usr/bin/env bash
# Writes the screenshots of the supervisors' page in examples/: page-desktop.png and
# page-phone.png (1400 and 390 px wide, the example day), page-empty-desktop.png and
# page-empty-phone.png (a day without data). They are taken by the browser test that checks
# the page's layout, in headless Chromium (chromium and chromium-driver, which
# scripts/test.sh installs), from the README's example data.
set -euo pipefail
cd "$(dirname "$0")/.."
APR_TEST_SCREENSHOTS="$PWD/examples" cargo test --test browser -- --exact \
  the_page_fits_desktop_and_phone_keeps_legends_off_the_data_and_says_when_a_day_is_empty
ls -l examples/page-*.png
