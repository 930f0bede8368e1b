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

	// The development-instance and handshake reasons of authenticateRequest.
	reasonDevBrowserMissing        = "dev-browser-missing"
	reasonDevBrowserSync           = "dev-browser-sync"
	reasonPrimaryRespondsToSyncing = "primary-responds-to-syncing"
	reasonSessionTokenMissing      = "session-token-missing"

	// Why an inbound handshake was rejected (ours: Clerk's SDK throws or
	// reports session-token-missing). A rejected token or session also
	// carries the verification reason: handshake-token-invalid-signature,
	// handshake-session-token-expired, ...
	reasonHandshakeNonceUnknown     = "handshake-nonce-unknown"
	reasonHandshakeNonceUnavailable = "handshake-nonce-unavailable"
	reasonHandshakePrefix           = "handshake-"
	reasonHandshakeSessionPrefix    = "handshake-session-"

	// Why an expired session was not refreshed through the Backend API,
	// after session-token-expired-refresh- (Clerk's RefreshTokenErrorReason).
	reasonRefreshInvalidSessionToken = "invalid-session-token"
	reasonRefreshDecodeFailed        = "expired-session-token-decode-failed"
	reasonRefreshMissingSidClaim     = "expired-session-token-missing-sid-claim"
	reasonRefreshFetchError          = "fetch-error"
	reasonRefreshUnexpectedSDKError  = "unexpected-sdk-error"
	reasonRefreshUnexpectedBAPIError = "unexpected-bapi-error"
)
