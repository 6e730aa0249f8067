#!/usr/bin/env bash
# The whole test suite, as a newcomer or CI runs it on a fresh machine: makes sure MariaDB
# and PostgreSQL are installed and answering (MySQL- and PostgreSQL-backend tests use a
# scratch database on them, made and dropped per test) and that Chromium and its WebDriver
# (the browser tests of the web page) and poppler-utils (the PDF report read back) are
# installed, then runs
# the format check, clippy with warnings as errors, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing MariaDB (mariadb-server) ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
fi
if [ ! -x /usr/bin/pdftotext ] || [ ! -x /usr/bin/pdftoppm ] || [ ! -x /usr/bin/pdfinfo ]; then
  echo "installing poppler-utils (the PDF report read back: tests/report_pdf.rs) ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "installing Chromium and chromium-driver (browser tests) ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! mariadb-admin --protocol=tcp -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
  echo "starting MariaDB ..."
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do
    mariadb-admin --protocol=tcp -h 127.0.0.1 -u root ping >/dev/null 2>&1 && break
    sleep 1
  done
  mariadb-admin --protocol=tcp -h 127.0.0.1 -u root ping >/dev/null || {
    echo "error: MariaDB did not start; the MySQL test suites cannot run" >&2
    exit 1
  }
fi

# PostgreSQL (the Debian cluster 15/main on 127.0.0.1:5432): the tests connect as the
# `postgres` superuser over TCP without a password, so local TCP logins are trusted.
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /usr/lib/postgresql ]; then
  echo "installing PostgreSQL (postgresql) ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL ..."
  cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1 " " $2 }')
  if [ -z "$cluster" ]; then
    pg_createcluster 15 main >/dev/null
    cluster="15 main"
  fi
  pg_ctlcluster $cluster start
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
  echo "trusting local TCP logins to PostgreSQL (tests only) ..."
  hba=$(su postgres -c "psql -Atc 'SHOW hba_file'")
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  su postgres -c "psql -qc 'SELECT pg_reload_conf()'" >/dev/null
fi
psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null || {
  echo "error: PostgreSQL is not answering on 127.0.0.1:5432; the PostgreSQL test suites cannot run" >&2
  exit 1
}
# The PostgreSQL variants of the benches (benches/) run too; the tests always do.
export APR_TEST_POSTGRES=1

# The Galera tests (tests/galera.rs, SPEC §15): three mariadbd nodes with galera-4 on loopback
# ports, run as the mysql user for the rsync state transfer; each test forms its own cluster
# (about 10-15 s) and the binary takes about 2.5 minutes.
if [ ! -e /usr/lib/galera/libgalera_smm.so ] || ! command -v rsync >/dev/null 2>&1; then
  echo "installing galera-4 and rsync (the Galera tests) ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq galera-4 rsync >/dev/null
fi
export APR_TEST_GALERA=1

# The heavy schedules of the reliability matrix (tests/chaos_*.rs): 20 SIGKILLs per command
# and backend instead of 3, five overlap waves instead of one.
export APR_TEST_HEAVY=1

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The cargo-fuzz targets (fuzz/, not a member of the build; fuzz/README.md runs them) still
# compile: a stable check, about 140 CPU seconds on a fresh machine (its own lock file and
# features, so little is shared with the build above).
cargo check --manifest-path fuzz/Cargo.toml --locked
# Doc tests first, so that the run closes on the integration tests' counts.
cargo test --locked --doc
# Every test runs: those that need MariaDB (up, or the script has failed above), start
# MariaDB servers of their own, or mount a tmpfs (this script runs as root, as it installs
# packages). Without them such a test fails naming what it needs; none is skipped.
cargo test --locked --lib --bins --tests
