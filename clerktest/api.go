package clerktest

import (
	"crypto/subtle"
	"net/http"
)

// The paths the instance serves.
const (
	// FrontendJWKSPath is the FAPI path of the public JWKS.
	FrontendJWKSPath = "/.well-known/jwks.json"
	// BackendJWKSPath is the BAPI path of the JWKS (needs the secret key).
	BackendJWKSPath = "/v1/jwks"
)

func (i *Instance) newFrontendMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+FrontendJWKSPath, func(w http.ResponseWriter, r *http.Request) {
		i.fetches.Add(1)
		i.serveJWKS(w, r)
	})
	mux.HandleFunc("/", notFound)
	i.frontendMux = mux
	return mux
}

func (i *Instance) newBackendMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+BackendJWKSPath, i.requireSecretKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.serveJWKS(w, r)
	}), true))
	mux.HandleFunc("/", notFound)
	i.backendMux = mux
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("Clerk-API-Version")
		i.apiVersion.Store(&v)
		mux.ServeHTTP(w, r)
	})
}

// requireSecretKey answers 401 clerk_key_invalid unless the request carries
// "Authorization: Bearer <secret key>". countJWKS counts the request as a
// JWKS fetch before the check.
func (i *Instance) requireSecretKey(h http.Handler, countJWKS bool) http.Handler {
	want := []byte("Bearer " + i.secretKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if countJWKS {
			i.fetches.Add(1)
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeClerkError(w, http.StatusUnauthorized, "clerk_key_invalid",
				"Secret key invalid", "The provided Secret Key is invalid. Make sure that your Secret Key is correct.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeClerkError(w, http.StatusNotFound, "resource_not_found",
		"not found", "The requested resource "+r.URL.Path+" does not exist on this local Clerk instance.")
}

// LastAPIVersion returns the Clerk-API-Version header of the most recent
// request to the BAPI server (any path), or "" if that request had none or
// there has been no request yet.
func (i *Instance) LastAPIVersion() string { return *i.apiVersion.Load() }

// HandleFrontend registers an extra handler on the FAPI server, with
// http.ServeMux pattern syntax (for example "GET /v1/client"). It panics if
// the pattern conflicts with an existing one, like http.ServeMux.Handle.
func (i *Instance) HandleFrontend(pattern string, h http.Handler) {
	i.frontendMux.Handle(pattern, h)
}

// HandleBackend registers an extra handler on the BAPI server, with
// http.ServeMux pattern syntax (for example
// "GET /v1/organizations"). Requests reach h only with
// "Authorization: Bearer <secret key>"; others get Clerk's 401
// clerk_key_invalid error. It panics if the pattern conflicts with an
// existing one, like http.ServeMux.Handle.
func (i *Instance) HandleBackend(pattern string, h http.Handler) {
	i.backendMux.Handle(pattern, i.requireSecretKey(h, false))
}
