package caddyclerk

// Clerk's reason strings, exactly as its SDK reports them in
// x-clerk-auth-reason. Token verification reasons come first, then the
// request-level reasons of authenticateRequest.
const (
	reasonTokenExpired           = "token-expired"
	reasonTokenInvalid           = "token-invalid"
	reasonTokenInvalidAlgorithm  = "token-invalid-algorithm"
	reasonTokenInvalidAZP        = "token-invalid-authorized-parties"
	reasonTokenInvalidIssuer     = "token-invalid-issuer"
	reasonTokenInvalidSignature  = "token-invalid-signature"
	reasonTokenNotActiveYet      = "token-not-active-yet"
	reasonTokenIatInTheFuture    = "token-iat-in-the-future"
	reasonTokenVerificationFails = "token-verification-failed"
	reasonSecretKeyInvalid       = "secret-key-invalid"
	reasonJWKRemoteFailedToLoad  = "jwk-remote-failed-to-load"
	reasonJWKKidMismatch         = "jwk-kid-mismatch"

	reasonSessionTokenAndUATMissing    = "session-token-and-uat-missing"
	reasonSessionTokenButNoClientUAT   = "session-token-but-no-client-uat"
	reasonClientUATButNoSessionToken   = "client-uat-but-no-session-token"
	reasonSessionTokenIatBeforeUAT     = "session-token-iat-before-client-uat"
	reasonSessionTokenExpiredPrefix    = "session-token-expired"
	reasonSessionTokenNbf              = "session-token-nbf"
	reasonSessionTokenIatInTheFuture   = "session-token-iat-in-the-future"
	reasonPrimaryDomainCrossOriginSync = "primary-domain-cross-origin-sync"
	reasonTokenTypeMismatch            = "token-type-mismatch"
	reasonUnexpectedError              = "unexpected-error"
	reasonSessionPending               = "session-pending"
	reasonRefreshNonEligibleNonGet     = "non-eligible-non-get"
	reasonRefreshNonEligibleNoCookie   = "non-eligible-no-refresh-cookie"
	reasonRefreshMissingAPIClient      = "missing-api-client"
)
