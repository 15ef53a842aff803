//go:build !unix

package main

// ownerOnly is a no-op where there is no umask (see umask_unix.go).
func ownerOnly() {}
