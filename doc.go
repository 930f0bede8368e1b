// Package caddyclerk puts Clerk authentication in front of any web app served by Caddy.
package caddyclerk
