// Command upstream is the application behind Caddy in the load benchmark: it
// answers every request with a short text body, like Caddy's `respond "ok"`.
// It listens on loopback only and exits by itself after -timeout.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18404", "listen address (loopback)")
	timeout := flag.Duration("timeout", 90*time.Minute, "exit after this long")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Fatalf("upstream: %s is not a loopback address", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	body := []byte("ok")
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write(body) //nolint:errcheck
		}),
	}
	go srv.Serve(ln) //nolint:errcheck // ends on Close
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(*timeout):
	}
	srv.Close() //nolint:errcheck
}
