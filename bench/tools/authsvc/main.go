// Command authsvc is what Caddy users run today to put Clerk in front of an
// app: Caddy's forward_auth asks this small service about every request, and
// the service verifies the session token with clerk-sdk-go v2's own HTTP
// middleware (WithHeaderAuthorization), which fetches the JWKS from the
// Backend API with the secret key and caches it per kid.
//
//	200 + X-Clerk-User-Id   the Authorization header holds a valid session token
//	401                     otherwise
//
// It listens on loopback only, optionally serves net/http/pprof on -pprof,
// and exits by itself after -timeout.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/clerk/clerk-sdk-go/v2"
	clerkhttp "github.com/clerk/clerk-sdk-go/v2/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18405", "listen address (loopback)")
	apiURL := flag.String("api-url", os.Getenv("CLERK_API_URL"), "Backend API base URL, without /v1")
	secretKey := flag.String("secret-key", os.Getenv("CLERK_SECRET_KEY"), "Clerk secret key")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof here (loopback), empty for none")
	timeout := flag.Duration("timeout", 90*time.Minute, "exit after this long")
	flag.Parse()
	for _, a := range []string{*addr, *pprofAddr} {
		if a == "" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			log.Fatalf("authsvc: %s is not a loopback address", a)
		}
	}
	if *apiURL == "" || *secretKey == "" {
		log.Fatal("authsvc: -api-url and -secret-key are required")
	}

	// clerk-sdk-go v2: the package-level key and a backend pointed at the
	// local Backend API ("<api-url>/v1", as the SDK's default APIURL is).
	clerk.SetKey(*secretKey)
	bapi := strings.TrimSuffix(*apiURL, "/") + "/v1"
	clerk.SetBackend(clerk.NewBackend(&clerk.BackendConfig{URL: &bapi}))

	verify := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := clerk.SessionClaimsFromContext(r.Context())
		if !ok || claims == nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Clerk-User-Id", claims.Subject)
		w.WriteHeader(http.StatusOK)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: clerkhttp.WithHeaderAuthorization()(verify), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends on Close

	if *pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			log.Fatal(err)
		}
		psrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go psrv.Serve(pln) //nolint:errcheck
		defer psrv.Close() //nolint:errcheck
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(*timeout):
	}
	srv.Close() //nolint:errcheck
}
