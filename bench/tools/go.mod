module github.com/caddy-clerk/caddy-clerk/bench/tools

go 1.26.0

require (
	github.com/caddy-clerk/caddy-clerk v0.0.0
	github.com/clerk/clerk-sdk-go/v2 v2.4.2
)

require (
	github.com/go-jose/go-jose/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.58.0 // indirect
)

replace github.com/caddy-clerk/caddy-clerk => ../..
