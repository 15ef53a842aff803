//go:build unix

package main

import "syscall"

// ownerOnly makes every file and directory this process creates owner-only,
// whichever code path creates it: payrun's output (payment files with full
// account numbers, manifests, workbooks, statements, tax reports, outbox
// mail) is for the account that runs it. The writers ask for 0600 and 0700
// themselves (internal/atomicfile); the umask covers any that does not.
func ownerOnly() { syscall.Umask(0o077) }
