// Package repocheck holds the test that keeps payrun standing alone: a plain
// clone of the repository must build, test and document itself with nothing
// beside it. The test lists the tracked files (git ls-files) and fails on any
// that reaches outside the repository — a path into the shared/ directory
// that sat beside CI's checkout, a relative path that climbs above the
// repository root, an absolute path into a developer's or CI's machine (the
// checkout's own location included) — and on a Markdown link to a file that
// is not tracked. .ci/run proves the same end to end by
// running `make test` in a fresh clone inside an empty temporary directory.
package repocheck
