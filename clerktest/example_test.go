package clerktest_test

import (
	"fmt"
	"net/http"

	"github.com/caddy-clerk/caddy-clerk/clerktest"
)

func ExamplePublishableKeyFor() {
	fmt.Println(clerktest.PublishableKeyFor("clerk.example.com", true))
	// Output: pk_live_Y2xlcmsuZXhhbXBsZS5jb20k
}

func ExampleNew() {
	clerk, err := clerktest.New(clerktest.Options{Host: "clerk.example.com"})
	if err != nil {
		panic(err)
	}
	defer clerk.Close()

	token := clerk.Mint(clerktest.Session{
		UserID: "user_123",
		Org: &clerktest.Org{
			ID:          "org_1",
			Role:        "admin",
			Permissions: []string{"org:invoices:read"},
		},
	})

	req, _ := http.NewRequest(http.MethodGet, clerk.BackendAPIURL()+clerktest.BackendJWKSPath, nil)
	req.Header.Set("Authorization", "Bearer "+clerk.SecretKey())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	res.Body.Close()

	fmt.Println(clerk.PublishableKey())
	fmt.Println(clerk.Issuer())
	fmt.Println(res.StatusCode, clerk.JWKSFetches())
	fmt.Println(len(token) > 0)
	// Output:
	// pk_test_Y2xlcmsuZXhhbXBsZS5jb20k
	// https://clerk.example.com
	// 200 1
	// true
}
