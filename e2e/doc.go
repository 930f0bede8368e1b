// Package e2e holds the real-browser end-to-end test of caddy-clerk: see
// e2e_test.go. It needs Chromium (Debian's chromium package).
package e2e
