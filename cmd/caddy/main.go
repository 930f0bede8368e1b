// Command caddy is Caddy with its standard modules plus caddy-clerk.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-clerk/caddy-clerk"
)

func main() {
	caddycmd.Main()
}
