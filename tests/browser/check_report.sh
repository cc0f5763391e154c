#!/usr/bin/env bash
# Browser test of report.html: headless Chromium opens the report from disk (Swedish and
# English), and the test fails on any console message (script errors, Content-Security-
# Policy violations such as an attempt to load something from the network), on a DOM
# without the expected charts and tables, or on a failed print to PDF. Screenshots and PDFs
# are kept; their paths are printed. Run by .ci/run after `cargo build --release`.
#
# Usage: tests/browser/check_report.sh [ARTIFACT_DIR]
# Env:   REHABSIM_BIN (default target/release/rehabsim), CHROMIUM (default: found on PATH).
# Skips (exit 0, with a message saying why) only when no Chromium is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${REHABSIM_BIN:-target/release/rehabsim}
chrome=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$chrome" ]; then
  echo "SKIP browser test: Chromium is not installed (Debian: apt-get install chromium)"
  exit 0
fi
if [ ! -x "$bin" ]; then
  echo "browser test: $bin not found; build it first (cargo build --release)" >&2
  exit 1
fi
out=${1:-$(mktemp -d /tmp/rehabsim-browser.XXXXXX)}
mkdir -p "$out"
# file:// URLs need an absolute path: file://target/x.html names a host called "target".
out=$(cd "$out" && pwd)
fail=0

# One headless Chromium call; a fresh profile each time so no state leaks between runs.
browse() {
  local profile
  profile=$(mktemp -d)
  timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --enable-logging=stderr --v=0 "$@"
  local rc=$?
  rm -rf "$profile"
  return $rc
}

# Console lines of a Chromium log (page messages, CSP violations, uncaught errors).
console_lines() { grep -E ':CONSOLE(\(|:)' "$1" || true; }

# The checker must see a console error when there is one, or a pass means nothing.
cat > "$out/selftest.html" <<'HTML'
<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>
<body><img src="http://example.invalid/x.png"><p>self-test</p></body></html>
HTML
# On a loaded machine Chromium may print the DOM before it logs the violation: try a few
# times, giving the page virtual time to finish loading.
for attempt in 1 2 3; do
  browse --virtual-time-budget=5000 --dump-dom "file://$out/selftest.html" \
    > "$out/selftest.dom" 2> "$out/selftest.log" || true
  [ -n "$(console_lines "$out/selftest.log")" ] && break
  sleep 2
done
if [ -z "$(console_lines "$out/selftest.log")" ]; then
  echo "FAIL browser test: Chromium logged no console message for a page that breaks its CSP;" \
       "this check cannot see errors (log: $out/selftest.log)"
  exit 1
fi

"$bin" run scenarios/default.toml --replications 20 --out "$out/run" --quiet --lang sv 2> "$out/run.log"
"$bin" report "$out/run" --lang en --output "$out/run/report-en.html" 2>> "$out/run.log"

for page in report.html report-en.html; do
  name=${page%.html}
  url="file://$out/run/$page"
  browse --virtual-time-budget=5000 --dump-dom "$url" > "$out/$name.dom" 2> "$out/$name.log" || true
  browse --hide-scrollbars --window-size=1200,4000 --screenshot="$out/$name.png" "$url" \
    > /dev/null 2> "$out/$name.shot.log" || true
  browse --no-pdf-header-footer --print-to-pdf="$out/$name.pdf" "$url" \
    > /dev/null 2> "$out/$name.pdf.log" || true
  errors=$(cat "$out/$name.log" "$out/$name.shot.log" "$out/$name.pdf.log" > "$out/$name.all.log"; console_lines "$out/$name.all.log")
  svgs=$(grep -o '<svg' "$out/$name.dom" | wc -l)
  tables=$(grep -o '<table' "$out/$name.dom" | wc -l)
  pages=$(grep -a -c '/Type /Page$\|/Type /Page[^s]' "$out/$name.pdf" 2>/dev/null || echo 0)
  problems=()
  [ -n "$errors" ] && problems+=("console messages: $errors")
  grep -q '</html>' "$out/$name.dom" || problems+=("no DOM dumped")
  [ "$svgs" -ge 6 ] || problems+=("$svgs <svg> elements, expected at least 6")
  [ "$tables" -ge 6 ] || problems+=("$tables tables, expected at least 6")
  [ -s "$out/$name.png" ] || problems+=("no screenshot")
  [ "$pages" -ge 2 ] || problems+=("print to PDF gave $pages pages")
  if [ ${#problems[@]} -gt 0 ]; then
    fail=1
    for p in "${problems[@]}"; do echo "FAIL browser test ($page): $p"; done
  else
    echo "ok browser test ($page): no console errors, $svgs charts, $tables tables, $pages printed pages"
  fi
  echo "screenshot: $out/$name.png"
  echo "pdf: $out/$name.pdf"
done
exit $fail
