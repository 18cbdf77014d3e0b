# Shared by tests/pkg/*: result lines, counted from $RESULTS at the end (the
# install cycles run in a child process in their own namespaces).
ok() { echo "PASS: $*"; echo PASS >> "$RESULTS"; }
ko() { echo "FAIL: $*"; echo FAIL >> "$RESULTS"; }
sk() { echo "SKIP: $*"; echo SKIP >> "$RESULTS"; }
summary() {
	local p f s
	p=$(grep -c '^PASS$' "$RESULTS") f=$(grep -c '^FAIL$' "$RESULTS") s=$(grep -c '^SKIP$' "$RESULTS")
	echo "$p passed, $f failed, $s skipped"
	[ "$f" = 0 ]
}
