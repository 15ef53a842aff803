// Package httprec wraps an http.ResponseWriter to remember what a handler
// answered: the final status and the body bytes. The metrics and the request
// log middlewares both read it after the handler returns.
package httprec
