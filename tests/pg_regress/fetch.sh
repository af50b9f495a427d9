#!/bin/bash
# Downloads PostgreSQL 15's source package from Debian (the same release as the server the suite
# compares against) and unpacks its regression tests (src/test/regress: sql/, expected/, data/)
# into target/pg_regress. Needs only Debian's apt mirror; uses a private sources list so the
# machine's apt configuration is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/pg_regress"
if [ -f "$out/regress/sql/test_setup.sql" ]; then
    echo "$out/regress"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
cat > "$work/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
opts=(-o "Dir::Etc::sourcelist=$work/src.sources" -o Dir::Etc::sourceparts=/dev/null -o "Dir::State::Lists=$work/lists")
apt-get "${opts[@]}" update >/dev/null
(cd "$work" && apt-get "${opts[@]}" source --download-only postgresql-15 >/dev/null 2>&1)
tarball=$(ls "$work"/postgresql-15_*.orig.tar.bz2)
mkdir -p "$out"
tar xjf "$tarball" -C "$work" --wildcards '*/src/test/regress/sql' '*/src/test/regress/expected' '*/src/test/regress/data' '*/src/test/regress/parallel_schedule'
rm -rf "$out/regress"
mv "$work"/postgresql-15.*/src/test/regress "$out/regress"
echo "$out/regress"
