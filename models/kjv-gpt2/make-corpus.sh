#!/bin/sh
# Writes the King James Bible (public domain), one verse per line and chapters separated by a
# blank line, from Debian's bible-kjv packages: ./make-corpus.sh [out-file] (default kjv.txt).
set -eu
out="${1:-kjv.txt}"
if ! command -v bible >/dev/null 2>&1; then
  echo "Installing Debian's bible-kjv (the 'bible' reader and its bible-kjv-text data)..." >&2
  apt-get install -y -qq bible-kjv >&2
fi
# 'bible' prints "Book N" headings and "  V text" verses; keep the verse texts, one chapter per paragraph.
bible -l100000 "Ge1:1-Re22:21" | awk '
  /^ *[0-9]+ / { sub(/^ *[0-9]+ /, ""); if (started) printf "\n"; printf "%s", $0; started = 1; inchapter = 1; next }
  /^$/ { next }
  { if (inchapter) { printf "\n\n"; started = 0; inchapter = 0 } }
  END { printf "\n" }
' > "$out"
echo "Wrote $out: $(wc -l < "$out") lines, $(wc -c < "$out") bytes" >&2
