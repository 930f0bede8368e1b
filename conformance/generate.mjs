// generate.mjs writes the conformance cases (testdata/cases.json) to stdout.
//
// It is deterministic: the RSA keys are the committed PEMs under testdata/,
// the clock is frozen at NOW, and RSASSA-PKCS1-v1_5 signatures do not depend
// on randomness, so running it twice gives the same bytes. oracle.mjs then
// asks Clerk's own SDK to decide every case, and conformance_test.go (in the
// repository root) runs the same cases through caddy-clerk and compares.
//
// A case may name the divergence class it expects (`divergence`, one of the
// classes in divergences.json); every other case must agree field by field.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompactSign, importPKCS8 } from 'jose';

const here = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- constants

const NOW = 1767225600; // 2026-01-01T00:00:00Z, in seconds
const NOW_MS = NOW * 1000;
const HOST = 'clerk.example.com';
const ISS = `https://${HOST}`;
const APP = 'https://app.example.com';
const FOREIGN_ISS = 'https://clerk.other-app.com';

const pk = (kind, host) => `pk_${kind}_${Buffer.from(`${host}$`).toString('base64').replace(/=+$/, '')}`;
const PK_LIVE = pk('live', HOST);
const PK_TEST = pk('test', HOST);
const suffixOf = (key) =>
  crypto.createHash('sha1').update(key).digest('base64').replace(/\+/g, '-').replace(/\//g, '_').slice(0, 8);
const SFX = { live: suffixOf(PK_LIVE), test: suffixOf(PK_TEST) };
if (PK_LIVE !== 'pk_live_Y2xlcmsuZXhhbXBsZS5jb20k' || SFX.live !== 'naoXFJnI') {
  throw new Error('publishable key or cookie suffix test vector broken');
}

const INSTANCES = {
  live: { publishableKey: PK_LIVE, secretKey: 'sk_live_conformance' },
  test: { publishableKey: PK_TEST, secretKey: 'sk_test_conformance' },
};

// ---------------------------------------------------------------- keys

const KEY_FILES = { main: 'rsa-2048.pem', other: 'rsa-2048-other.pem', big: 'rsa-3072.pem' };
const privatePEM = {};
const publicPEM = {};
const joseKeys = {};
for (const [name, file] of Object.entries(KEY_FILES)) {
  privatePEM[name] = fs.readFileSync(path.join(here, 'testdata', file), 'utf8');
  publicPEM[name] = crypto.createPublicKey(privatePEM[name]).export({ type: 'spki', format: 'pem' });
  for (const alg of ['RS256', 'RS384', 'RS512']) {
    joseKeys[`${name}/${alg}`] = await importPKCS8(privatePEM[name], alg);
  }
}
const jwkOf = (name, kid, alg = 'RS256') => ({
  ...crypto.createPublicKey(privatePEM[name]).export({ format: 'jwk' }),
  kid,
  alg,
  use: 'sig',
});

// ---------------------------------------------------------------- tokens

const b64u = (s) => Buffer.from(s).toString('base64url');
const HASHES = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };

// signRaw signs exactly the given header and payload text (for headers jose
// refuses, duplicate keys, non-object JSON, numbers JSON cannot round-trip).
function signRaw(headerText, payloadText, { key = 'main', alg = 'RS256' } = {}) {
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  const sig = crypto.sign(HASHES[alg], Buffer.from(input), privatePEM[key]);
  return `${input}.${sig.toString('base64url')}`;
}

const HEADER = { alg: 'RS256', kid: 'ins_conformance', typ: 'JWT', cat: 'cl_B7d4PD111AAA' };

// claims builds a session token payload; over's undefined members are dropped.
const claims = (over = {}) => ({
  azp: APP,
  exp: NOW + 600,
  iat: NOW - 10,
  iss: ISS,
  nbf: NOW - 20,
  sid: 'sess_1',
  sub: 'user_1',
  ...over,
});

// tok signs a token with jose; header members set to undefined are dropped.
async function tok(over = {}, { header = {}, key = 'main' } = {}) {
  const h = Object.fromEntries(Object.entries({ ...HEADER, ...header }).filter(([, v]) => v !== undefined));
  const payload = new TextEncoder().encode(JSON.stringify(claims(over)));
  return new CompactSign(payload).setProtectedHeader(h).sign(joseKeys[`${key}/${h.alg}`]);
}

// raw builds a token whose header is not signable by jose (bad alg etc.),
// signing it with RS256 anyway: Clerk checks alg before the signature.
const raw = (header, payload, opts) =>
  signRaw(typeof header === 'string' ? header : JSON.stringify(header),
    typeof payload === 'string' ? payload : JSON.stringify(payload), opts);

// ---------------------------------------------------------------- requests

const API = [['accept', 'application/json']];
const DOC = [['sec-fetch-dest', 'document'], ['accept', 'text/html,application/xhtml+xml']];

const cookieHeader = (pairs) => ['cookie', pairs.map(([n, v]) => `${n}=${v}`).join('; ')];
const sfx = (name, inst = 'live') => `${name}_${SFX[inst]}`;

function req({ method = 'GET', path: p = '/dashboard', headers = API, cookies, bearer, auth } = {}) {
  const h = [...headers];
  if (bearer !== undefined) h.push(['authorization', `Bearer ${bearer}`]);
  if (auth !== undefined) h.push(['authorization', auth]);
  if (cookies) h.push(cookieHeader(cookies));
  return { method, url: APP + p, headers: h };
}

const UAT = String(NOW - 7200); // the client was last updated two hours ago

// ---------------------------------------------------------------- cases

const cases = [];
const seen = new Set();
function add(area, slug, c) {
  const id = `${area}/${slug}`;
  if (seen.has(id)) throw new Error(`duplicate case ${id}`);
  seen.add(id);
  cases.push({ id, area, kind: c.patterns ? 'route' : 'request', ...c });
}
// request case with the live instance by default.
const R = (area, slug, description, request, extra = {}) =>
  add(area, slug, { description, config: { instance: 'live', jwtKey: 'main', ...(extra.config || {}) }, request, ...omit(extra, 'config') });
const omit = (o, k) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k));

const valid = await tok();
const validHdrUser = await tok({ sub: 'user_header' });
const validCookieUser = await tok({ sub: 'user_cookie' });
const expired = await tok({ exp: NOW - 60, iat: NOW - 120, nbf: NOW - 130 });
const pending = await tok({ sts: 'pending' });
const foreign = await tok({ iss: FOREIGN_ISS });
const otherKey = await tok({}, { key: 'other' });
const good = [['__session', valid], ['__client_uat', UAT]];

// ---- header: Authorization parsing and the header path
{
  const A = 'header';
  R(A, 'bearer-valid', 'Bearer token verifies', req({ bearer: valid }));
  R(A, 'raw-token-no-scheme', 'a value without a space is the token itself', req({ auth: valid }));
  R(A, 'bearer-lowercase', 'lowercase scheme: Clerk reads no header token, we do', req({ auth: `bearer ${valid}` }),
    { divergence: 'bearer-any-case' });
  R(A, 'bearer-uppercase', 'uppercase scheme: Clerk reads no header token, we do', req({ auth: `BEARER ${valid}` }),
    { divergence: 'bearer-any-case' });
  R(A, 'bearer-lowercase-with-cookie', 'lowercase scheme with a cookie session: Clerk uses the cookie',
    req({ auth: `bearer ${validHdrUser}`, cookies: [['__session', validCookieUser], ['__client_uat', UAT]] }),
    { divergence: 'bearer-any-case' });
  R(A, 'bearer-extra-part', '"Bearer a b": the token ends at the next space', req({ auth: `Bearer ${valid} trailing` }));
  R(A, 'bearer-two-spaces', '"Bearer  tok": the token is the literal "Bearer"', req({ auth: `Bearer  ${valid}` }));
  R(A, 'bearer-lowercase-two-spaces', '"bearer  tok": the token is the literal "bearer"', req({ auth: `bearer  ${valid}` }));
  R(A, 'bearer-alone', '"Bearer" alone is a raw token', req({ auth: 'Bearer' }));
  R(A, 'bearer-garbage', 'a Bearer value that is no JWT', req({ bearer: 'not-a-jwt' }));
  R(A, 'bearer-tab', 'a tab is not a separator: the whole value is the token', req({ auth: `Bearer\t${valid}` }));
  R(A, 'basic-no-cookie', 'another scheme: no header token, then no cookie', req({ auth: 'Basic dXNlcjpwYXNz' }));
  R(A, 'basic-with-cookie', 'another scheme: the cookie decides', req({ auth: 'Basic dXNlcjpwYXNz', cookies: good }));
  R(A, 'basic-two-spaces-with-cookie', '"Basic  x" (two spaces): Clerk takes "Basic" as the token',
    req({ auth: 'Basic  dXNlcjpwYXNz', cookies: good }));
  R(A, 'token-scheme', '"Token x" is another scheme', req({ auth: 'Token abc' }));
  R(A, 'empty-authorization', 'an empty Authorization header is no token', req({ auth: '', cookies: good }));
  R(A, 'header-wins-over-cookie', 'a header token decides even with a cookie session',
    req({ bearer: validHdrUser, cookies: [['__session', validCookieUser], ['__client_uat', UAT]] }));
  R(A, 'bad-header-no-fallback', 'a bad header token is not rescued by a good cookie',
    req({ bearer: 'garbage.garbage.garbage', cookies: good }));
  R(A, 'expired-header-with-cookie', 'an expired header token is not rescued by a good cookie', req({ bearer: expired, cookies: good }));
  R(A, 'expired-header-api', 'expired Bearer token, API GET', req({ bearer: expired }));
  R(A, 'expired-header-post', 'expired Bearer token, POST', req({ method: 'POST', bearer: expired }));
  R(A, 'expired-header-document', 'expired Bearer token on a document GET: Clerk hands over to the handshake',
    req({ bearer: expired, headers: DOC }));
  R(A, 'api-key-prefix', 'an ak_ token is not a JWT for session_token', req({ bearer: 'ak_0123456789abcdef' }));
  R(A, 'm2m-prefix', 'an mt_ token is not a JWT for session_token', req({ bearer: 'mt_0123456789abcdef' }));
  R(A, 'oauth-prefix', 'an oat_ token is not a JWT for session_token', req({ bearer: 'oat_0123456789abcdef' }));
  R(A, 'four-parts', 'four dot-separated parts', req({ bearer: `${valid}.x` }));
  R(A, 'two-parts', 'two dot-separated parts', req({ bearer: valid.split('.').slice(0, 2).join('.') }));
  R(A, 'bad-base64-header', 'a header segment with a character outside base64url', req({ bearer: `e+y.${valid.split('.')[1]}.${valid.split('.')[2]}` }));
  R(A, 'foreign-iss', 'a token of another instance: we check iss by default, Clerk does not',
    req({ bearer: foreign }), { divergence: 'iss-checked-by-default' });
  R(A, 'foreign-iss-issuer-off', 'with issuer off we accept another instance\'s token, as Clerk does',
    req({ bearer: foreign }), { config: { issuer: 'off' } });
  R(A, 'missing-iss', 'a token without iss: we require it by default', req({ bearer: await tok({ iss: undefined }) }),
    { divergence: 'iss-checked-by-default' });
  R(A, 'pending', 'a pending session verifies; both treat it as signed out',
    req({ bearer: pending }), { divergence: 'pending-is-signed-out' });
  R(A, 'padded-segments', 'base64url padding on every segment is accepted',
    req({ bearer: valid.split('.').map((s) => s + '='.repeat((4 - (s.length % 4)) % 4)).join('.') }));
}

// ---- verify: Clerk's verifyToken reasons and their order (header path)
{
  const A = 'verify';
  const p = claims();
  R(A, 'invalid-signature-other-key', 'signed by another key', req({ bearer: otherKey }));
  {
    const [h, , s] = valid.split('.');
    R(A, 'tampered-payload', 'payload changed after signing', req({ bearer: `${h}.${b64u(JSON.stringify(claims({ sub: 'user_admin' })))}.${s}` }));
  }
  R(A, 'empty-signature', 'no signature bytes', req({ bearer: valid.split('.').slice(0, 2).join('.') + '.' }));
  R(A, 'alg-none', 'alg none', req({ bearer: raw({ ...HEADER, alg: 'none' }, p) }));
  R(A, 'alg-hs256', 'alg HS256', req({ bearer: raw({ ...HEADER, alg: 'HS256' }, p) }));
  R(A, 'alg-es256', 'alg ES256', req({ bearer: raw({ ...HEADER, alg: 'ES256' }, p) }));
  R(A, 'alg-lowercase', 'alg rs256 (case matters)', req({ bearer: raw({ ...HEADER, alg: 'rs256' }, p) }));
  R(A, 'alg-missing', 'no alg', req({ bearer: raw({ kid: 'k', typ: 'JWT' }, p) }));
  R(A, 'alg-ps256', 'alg PS256', req({ bearer: raw({ ...HEADER, alg: 'PS256' }, p) }));
  R(A, 'typ-absent', 'no typ is fine', req({ bearer: await tok({}, { header: { typ: undefined } }) }));
  R(A, 'typ-lowercase', 'typ jwt (case matters)', req({ bearer: await tok({}, { header: { typ: 'jwt' } }) }));
  R(A, 'typ-jose', 'typ JOSE', req({ bearer: await tok({}, { header: { typ: 'JOSE' } }) }));
  R(A, 'typ-number', 'typ 1', req({ bearer: raw({ ...HEADER, typ: 1 }, p) }));
  R(A, 'typ-before-alg', 'bad typ and bad alg: typ is checked first', req({ bearer: raw({ ...HEADER, typ: 'x', alg: 'none' }, p) }));
  R(A, 'alg-before-signature', 'bad alg and bad signature: alg first',
    req({ bearer: raw({ ...HEADER, alg: 'HS256' }, p, { key: 'other' }) }));
  R(A, 'cat-session', 'session category', req({ bearer: await tok({}, { header: { cat: 'cl_B7d4PD111AAA' } }) }));
  R(A, 'cat-ignore', 'the "ignore" category', req({ bearer: await tok({}, { header: { cat: 'cl_I7d4PD111III' } }) }));
  R(A, 'cat-absent', 'no category', req({ bearer: await tok({}, { header: { cat: undefined } }) }));
  R(A, 'cat-jwt-template', 'JWT template category', req({ bearer: await tok({}, { header: { cat: 'cl_B7d4PD222AAA' } }) }));
  R(A, 'cat-empty', 'empty category', req({ bearer: await tok({}, { header: { cat: '' } }) }));
  R(A, 'cat-null', 'null category', req({ bearer: raw({ ...HEADER, cat: null }, p) }));
  R(A, 'sub-missing', 'no sub', req({ bearer: await tok({ sub: undefined }) }));
  R(A, 'sub-number', 'numeric sub', req({ bearer: await tok({ sub: 42 }) }));
  R(A, 'exp-missing', 'no exp', req({ bearer: await tok({ exp: undefined }) }));
  R(A, 'exp-string', 'string exp', req({ bearer: await tok({ exp: String(NOW + 600) }) }));
  R(A, 'nbf-string', 'string nbf', req({ bearer: await tok({ nbf: String(NOW - 20) }) }));
  R(A, 'iat-string', 'string iat (header path)', req({ bearer: await tok({ iat: String(NOW - 10) }) }));
  R(A, 'nbf-absent-iat-absent', 'nbf and iat are optional', req({ bearer: await tok({ nbf: undefined, iat: undefined }) }));
  R(A, 'exp-negative', 'exp before 1970', req({ bearer: await tok({ exp: -1 }) }));
  R(A, 'exp-huge-finite', 'exp 1e300 (beyond JS dates) never expires on either side', req({ bearer: await tok({ exp: 1e300 }) }));
  R(A, 'nbf-huge-finite', 'nbf 1e300: Clerk computes an invalid date and lets it pass; we compare numbers',
    req({ bearer: await tok({ nbf: 1e300 }) }), { divergence: 'js-date-range' });
  R(A, 'exp-infinite', 'exp 1e400 (JSON.parse gives Infinity)',
    req({ bearer: raw(HEADER, JSON.stringify(claims({ exp: 0 }))
      .replace(`"exp":0`, '"exp":1e400')) }), { divergence: 'js-date-range' });
  R(A, 'azp-allowed', 'azp in authorized_parties', req({ bearer: valid }),
    { config: { authorizedParties: ['https://other.example.com', APP] } });
  R(A, 'azp-missing-with-parties', 'no azp while authorized_parties is set', req({ bearer: await tok({ azp: undefined }) }),
    { config: { authorizedParties: [APP] } });
  R(A, 'azp-wrong', 'azp not in authorized_parties', req({ bearer: await tok({ azp: 'https://evil.example.net' }) }),
    { config: { authorizedParties: [APP] } });
  R(A, 'azp-trailing-slash', 'azp matching is exact', req({ bearer: await tok({ azp: `${APP}/` }) }),
    { config: { authorizedParties: [APP] } });
  R(A, 'azp-missing-no-parties', 'no azp and no authorized_parties', req({ bearer: await tok({ azp: undefined }) }));
  R(A, 'issuer-explicit-ok', 'explicit issuer, matching', req({ bearer: valid }), { config: { issuer: ISS } });
  R(A, 'issuer-explicit-wrong', 'explicit issuer, another instance\'s token', req({ bearer: foreign }),
    { config: { issuer: ISS } });
  R(A, 'issuer-explicit-missing', 'explicit issuer, no iss', req({ bearer: await tok({ iss: undefined }) }),
    { config: { issuer: ISS } });
  R(A, 'order-signature-before-exp', 'bad signature and expired: signature first',
    req({ bearer: await tok({ exp: NOW - 600 }, { key: 'other' }) }));
  R(A, 'order-sub-before-azp', 'no sub and wrong azp: sub first',
    req({ bearer: await tok({ sub: undefined, azp: 'https://evil.example.net' }) }), { config: { authorizedParties: [APP] } });
  R(A, 'order-azp-before-iss', 'wrong azp and wrong iss: azp first',
    req({ bearer: await tok({ iss: FOREIGN_ISS, azp: 'https://evil.example.net' }) }),
    { config: { authorizedParties: [APP], issuer: ISS } });
  R(A, 'order-azp-before-exp', 'wrong azp and expired: azp first',
    req({ bearer: await tok({ exp: NOW - 600, azp: 'https://evil.example.net' }) }), { config: { authorizedParties: [APP] } });
  R(A, 'order-iss-before-exp', 'wrong iss and expired: iss first', req({ bearer: await tok({ exp: NOW - 600, iss: FOREIGN_ISS }) }),
    { config: { issuer: ISS } });
  R(A, 'kid-ignored', 'jwt_key verifies whatever the kid', req({ bearer: await tok({}, { header: { kid: 'ins_unknown' } }) }));
  R(A, 'rs384-jwt-key', 'RS384 with jwt_key: Clerk\'s PEM slicing pins RS256',
    req({ bearer: await tok({}, { header: { alg: 'RS384' } }) }), { divergence: 'jwt-key-any-rsa' });
  R(A, 'rs512-jwt-key', 'RS512 with jwt_key', req({ bearer: await tok({}, { header: { alg: 'RS512' } }) }),
    { divergence: 'jwt-key-any-rsa' });
  R(A, 'rsa-3072-jwt-key', 'a 3072-bit jwt_key: Clerk\'s PEM slicing only fits 2048-bit keys',
    req({ bearer: await tok({}, { key: 'big' }) }), { config: { jwtKey: 'big' }, divergence: 'jwt-key-any-rsa' });
  R(A, 'token-over-16k', 'a 20 KB token: we refuse tokens over 16 KiB before parsing',
    req({ bearer: await tok({ blob: 'x'.repeat(20000) }) }), { divergence: 'token-size-limit' });
}

// ---- skew: exp / nbf / iat boundaries
{
  const A = 'skew';
  const cases_ = [
    ['exp-now-minus-5', 'exp = now-5s: expired (default skew 5s)', { exp: NOW - 5 }],
    ['exp-now-minus-4', 'exp = now-4s: valid', { exp: NOW - 4 }],
    ['exp-now-minus-5.9', 'exp = now-5.9s truncates to now-6: expired', { exp: NOW - 5.9 }],
    ['exp-now-minus-4.5', 'exp = now-4.5s truncates (toward zero) to now-5: expired', { exp: NOW - 4.5 }],
    ['exp-now-minus-3.5', 'exp = now-3.5s truncates to now-4: valid', { exp: NOW - 3.5 }],
    ['nbf-now-plus-5', 'nbf = now+5s: valid', { nbf: NOW + 5 }],
    ['nbf-now-plus-6', 'nbf = now+6s: not yet valid', { nbf: NOW + 6 }],
    ['nbf-now-plus-5.9', 'nbf = now+5.9s truncates to now+5: valid', { nbf: NOW + 5.9 }],
    ['iat-now-plus-5', 'iat = now+5s: valid', { iat: NOW + 5 }],
    ['iat-now-plus-6', 'iat = now+6s: in the future', { iat: NOW + 6 }],
    ['exp-and-nbf-fail', 'expired and not yet valid: exp first', { exp: NOW - 60, nbf: NOW + 60 }],
    ['nbf-and-iat-fail', 'nbf and iat in the future: nbf first', { nbf: NOW + 60, iat: NOW + 60 }],
  ];
  for (const [slug, description, over] of cases_) {
    R(A, slug, description, req({ bearer: await tok(over) }));
  }
  const withSkew = [
    ['skew0-exp-now', 'skew 0: exp = now is expired', { exp: NOW }, 0],
    ['skew0-exp-now-plus-1', 'skew 0: exp = now+1 is valid', { exp: NOW + 1 }, 0],
    ['skew0-nbf-now', 'skew 0: nbf = now is valid', { nbf: NOW }, 0],
    ['skew0-nbf-now-plus-1', 'skew 0: nbf = now+1 is not yet valid', { nbf: NOW + 1 }, 0],
    ['skew0-iat-now-plus-1', 'skew 0: iat = now+1 is in the future', { iat: NOW + 1 }, 0],
    ['skew60-exp-now-minus-59', 'skew 60s: exp = now-59 valid', { exp: NOW - 59 }, 60000],
    ['skew60-exp-now-minus-60', 'skew 60s: exp = now-60 expired', { exp: NOW - 60 }, 60000],
    ['skew60-nbf-now-plus-60', 'skew 60s: nbf = now+60 valid', { nbf: NOW + 60 }, 60000],
    ['skew60-nbf-now-plus-61', 'skew 60s: nbf = now+61 not yet valid', { nbf: NOW + 61 }, 60000],
    ['skew250ms-nbf-now-plus-1', 'skew 250ms: nbf = now+1 not yet valid', { nbf: NOW + 1 }, 250],
  ];
  for (const [slug, description, over, skew] of withSkew) {
    R(A, slug, description, req({ bearer: await tok(over) }), { config: { clockSkewMs: skew } });
  }
  const withMillis = [
    ['ms999-exp-now-minus-4', 'clock at +999ms: exp = now-4 valid', { exp: NOW - 4 }, NOW_MS + 999, undefined],
    ['ms999-exp-now-minus-5', 'clock at +999ms: exp = now-5 expired', { exp: NOW - 5 }, NOW_MS + 999, undefined],
    ['ms999-nbf-now-plus-5', 'clock at +999ms: nbf = now+5 valid', { nbf: NOW + 5 }, NOW_MS + 999, undefined],
    ['ms999-nbf-now-plus-6', 'clock at +999ms: nbf = now+6 still not valid', { nbf: NOW + 6 }, NOW_MS + 999, undefined],
    ['ms-1-exp-now-minus-5', 'clock at -1ms: exp = now-5 valid', { exp: NOW - 5 }, NOW_MS - 1, undefined],
    ['ms500-skew1500-exp-now-minus-1', 'clock +500ms, skew 1.5s: exp = now-1 expired (boundary)', { exp: NOW - 1 }, NOW_MS + 500, 1500],
    ['ms500-skew1500-exp-now', 'clock +500ms, skew 1.5s: exp = now valid', { exp: NOW }, NOW_MS + 500, 1500],
    ['ms500-skew1500-iat-now-plus-2', 'clock +500ms, skew 1.5s: iat = now+2 valid', { iat: NOW + 2 }, NOW_MS + 500, 1500],
    ['ms500-skew1500-iat-now-plus-3', 'clock +500ms, skew 1.5s: iat = now+3 in the future', { iat: NOW + 3 }, NOW_MS + 500, 1500],
  ];
  for (const [slug, description, over, nowMs, skew] of withMillis) {
    R(A, slug, description, req({ bearer: await tok(over) }),
      { nowMs, ...(skew !== undefined ? { config: { clockSkewMs: skew } } : {}) });
  }
  // The cookie path converts the same failures to Clerk's request reasons.
  R(A, 'cookie-expired', 'expired cookie session, API GET',
    req({ cookies: [['__session', await tok({ exp: NOW - 5, iat: NOW - 100 })], ['__client_uat', UAT]] }));
  R(A, 'cookie-nbf', 'cookie session not yet valid',
    req({ cookies: [['__session', await tok({ nbf: NOW + 6 })], ['__client_uat', UAT]] }));
  R(A, 'cookie-iat-future', 'cookie session issued in the future',
    req({ cookies: [['__session', await tok({ iat: NOW + 6 })], ['__client_uat', UAT]] }));
  R(A, 'cookie-expired-post', 'expired cookie session, POST',
    req({ method: 'POST', cookies: [['__session', await tok({ exp: NOW - 5, iat: NOW - 100 })], ['__client_uat', UAT]] }));
}

// ---- cookie: the cookie path and __client_uat
{
  const A = 'cookie';
  const C = (slug, description, cookies, extra = {}) =>
    R(A, slug, description, req({ cookies, ...(extra.req || {}) }), omit(extra, 'req'));
  R(A, 'no-cookies', 'nothing at all', req());
  C('uat-zero-only', '__client_uat=0 alone', [['__client_uat', '0']]);
  C('session-only', '__session without __client_uat', [['__session', valid]]);
  C('session-uat-zero', '__session with __client_uat=0', [['__session', valid], ['__client_uat', '0']]);
  C('uat-only', '__client_uat without __session', [['__client_uat', UAT]]);
  C('session-empty-value', 'an empty __session counts as absent', [['__session', ''], ['__client_uat', UAT]]);
  C('valid', '__session and __client_uat', good);
  C('iat-before-uat', 'session issued before the client was last updated',
    [['__session', await tok({ iat: NOW - 10 })], ['__client_uat', String(NOW - 5)]]);
  C('iat-equals-uat', 'session issued in the same second as __client_uat',
    [['__session', await tok({ iat: NOW - 10 })], ['__client_uat', String(NOW - 10)]]);
  C('iat-missing', 'no iat: the iat/__client_uat check is skipped', [['__session', await tok({ iat: undefined })], ['__client_uat', UAT]]);
  C('uat-abc', '__client_uat=abc parses to 0', [['__session', valid], ['__client_uat', 'abc']]);
  C('uat-123abc', '__client_uat=123abc parses to 123', [['__session', valid], ['__client_uat', '123abc']]);
  C('uat-plus-sign', '__client_uat=+42', [['__session', valid], ['__client_uat', '+42']]);
  C('uat-negative', '__client_uat=-5 is truthy', [['__session', valid], ['__client_uat', '-5']]);
  C('uat-decimal', '__client_uat=1.9e9 parses to 1', [['__session', valid], ['__client_uat', '1.9e9']]);
  C('uat-huge', '__client_uat beyond any iat', [['__session', valid], ['__client_uat', '99999999999999999999']]);
  C('uat-hex', '__client_uat=0x10: JavaScript parseInt reads hex', [['__session', valid], ['__client_uat', '0x10']]);
  C('uat-leading-zeros', '__client_uat=000123', [['__session', valid], ['__client_uat', '000123']]);
  C('malformed-session', 'a session cookie that is no JWT', [['__session', 'abc'], ['__client_uat', UAT]]);
  C('garbage-three-parts', 'three parts, not base64url JSON', [['__session', 'a.b.c'], ['__client_uat', UAT]]);
  C('duplicate-first-wins', 'the first __session wins', [['__session', valid], ['__session', 'garbage'], ['__client_uat', UAT]]);
  C('duplicate-first-garbage', 'the first __session wins, even when bad', [['__session', 'garbage'], ['__session', valid], ['__client_uat', UAT]]);
  C('percent-encoded-value', 'cookie values are percent-decoded', [['__session', valid.replace(/\./g, '%2E')], ['__client_uat', UAT]]);
  C('bad-percent-kept', 'an undecodable value is kept as sent', [['__session', `${valid}%zz`], ['__client_uat', UAT]]);
  C('quoted-value', 'quotes are not stripped', [['__session', `"${valid}"`], ['__client_uat', UAT]]);
  R(A, 'spaces-around-names', 'names and values are trimmed', req({ headers: [...API, ['cookie', ` __session = ${valid} ;  __client_uat = ${UAT} `]] }));
  R(A, 'pair-without-equals', 'a pair without = is skipped', req({ headers: [...API, ['cookie', `flag; __session=${valid}; __client_uat=${UAT}`]] }));
  C('cat-m2m', 'a cookie token of the M2M category', [['__session', await tok({}, { header: { cat: 'cl_B7d4PD333AAA' } })], ['__client_uat', UAT]]);
  C('machine-sub', 'a cookie token with a machine subject', [['__session', await tok({ sub: 'mch_1' })], ['__client_uat', UAT]]);
  C('other-key', 'a cookie token signed by another key', [['__session', otherKey], ['__client_uat', UAT]]);
  C('no-azp', 'a cookie token without azp is fine without authorized_parties', [['__session', await tok({ azp: undefined })], ['__client_uat', UAT]]);
  C('wrong-azp', 'a cookie token with another azp', [['__session', await tok({ azp: 'https://evil.example.net' })], ['__client_uat', UAT]],
    { config: { authorizedParties: [APP] } });
  C('pending', 'pending session in a cookie', [['__session', pending], ['__client_uat', UAT]], { divergence: 'pending-is-signed-out' });
  C('foreign-iss-unsuffixed', 'another instance\'s __session alone: Clerk switches to suffixed cookies, which are absent',
    [['__session', foreign], ['__client_uat', UAT]]);
  C('malformed-fea', 'v2 fea Clerk cannot parse: auth object construction fails',
    [['__session', await tok({ v: 2, fea: 'o:a,premium', o: { id: 'org_1', rol: 'admin' } })], ['__client_uat', UAT]]);
  C('refresh-unsuffixed-only', 'expired, with an unsuffixed __refresh (never read)',
    [['__session', await tok({ exp: NOW - 60, iat: NOW - 120 })], ['__client_uat', UAT], ['__refresh', 'rt_1']]);
  // Cross-origin document navigations (primary-domain-cross-origin-sync).
  const xo = (slug, description, referer, extra = {}) => R(A, slug, description,
    req({ headers: [...DOC, ...(referer === null ? [] : [['referer', referer]]), ...(extra.headers || [])], cookies: extra.cookies || good, method: extra.method }),
    omit(omit(omit(extra, 'headers'), 'cookies'), 'method'));
  xo('xo-foreign-referer', 'document GET from another origin: Clerk hands over to the handshake',
    'https://evil.example.net/page');
  xo('xo-same-origin', 'document GET from the same origin', `${APP}/home`);
  xo('xo-no-referer', 'document GET without a referer', null);
  xo('xo-post', 'cross-origin POST navigation is not checked', 'https://evil.example.net/', { method: 'POST' });
  R(A, 'xo-iframe', 'cross-origin iframe is not checked (document only)',
    req({ headers: [['sec-fetch-dest', 'iframe'], ['referer', 'https://evil.example.net/']], cookies: good }));
  xo('xo-accounts-portal', 'referer from the accounts portal', 'https://accounts.example.com/sign-in');
  xo('xo-accounts-portal-http', 'referer from the accounts portal over http is not known',
    'http://accounts.example.com/sign-in');
  xo('xo-fapi', 'referer from the Frontend API host', 'https://clerk.example.com/v1/client');
  xo('xo-fapi-other-port', 'referer from the Frontend API host on another port (Clerk compares host names)',
    'https://clerk.example.com:8443/v1/client');
  xo('xo-same-origin-default-port', 'referer of the same origin with an explicit :443', 'https://app.example.com:443/home');
  xo('xo-scheme-relative', 'a scheme-relative referer is not a URL for Clerk', '//evil.example.net/page');
  xo('xo-android-app', 'an android-app:// referer has an opaque origin', 'android-app://com.example.app/');
  xo('xo-unparsable', 'an unparsable referer', 'http://[::1');
  xo('xo-redirect-count-1', 'after a handshake round trip the check is skipped', 'https://evil.example.net/',
    { cookies: [...good, ['__clerk_redirect_count', '1']] });
  xo('xo-redirect-count-garbage', '__clerk_redirect_count=1abc is NaN for Number(): counts as 0',
    'https://evil.example.net/', { cookies: [...good, ['__clerk_redirect_count', '1abc']] });
  xo('xo-pending', 'a pending session on a cross-origin navigation', 'https://evil.example.net/',
    { cookies: [['__session', pending], ['__client_uat', UAT]] });
  xo('xo-malformed-fea', 'a token whose auth object cannot be built, on a cross-origin navigation',
    'https://evil.example.net/',
    { cookies: [['__session', await tok({ v: 2, fea: 'o:a,premium', o: { id: 'org_1', rol: 'admin' } })], ['__client_uat', UAT]] });
  R(A, 'xo-forwarded-host', 'X-Forwarded-Host makes the referer same-origin for Clerk; we trust it only from trusted_proxies',
    req({ headers: [...DOC, ['referer', 'https://shop.example.com/'], ['x-forwarded-host', 'shop.example.com']], cookies: good }),
    { divergence: 'trusted-proxies-only' });
  R(A, 'xo-forwarded-host-trusted', 'X-Forwarded-Host from a trusted proxy',
    req({ headers: [...DOC, ['referer', 'https://shop.example.com/'], ['x-forwarded-host', 'shop.example.com']], cookies: good }),
    { config: { trustedProxy: true } });
}

// ---- suffixed: the eight usesSuffixedCookies rules
{
  const A = 'suffixed';
  const U = await tok({ sub: 'user_unsuffixed', iat: NOW - 10 });
  const Sold = await tok({ sub: 'user_suffixed', iat: NOW - 50 });
  const Snew = await tok({ sub: 'user_suffixed', iat: NOW - 5 });
  const C = (slug, description, cookies, extra = {}) => R(A, slug, description, req({ cookies }), extra);
  C('r1-no-iss', 'rule 1: __session without iss: unsuffixed cookies', [
    ['__session', await tok({ sub: 'user_unsuffixed', iss: undefined })], ['__client_uat', UAT],
    [sfx('__session'), Snew], [sfx('__client_uat'), UAT]], { config: { issuer: 'off' } });
  C('r1-undecodable', 'rule 1: undecodable __session: unsuffixed cookies', [
    ['__session', 'garbage'], ['__client_uat', UAT], [sfx('__session'), Snew], [sfx('__client_uat'), UAT]]);
  C('r2-foreign-iss', 'rule 2: __session of another instance: suffixed cookies', [
    ['__session', foreign], ['__client_uat', UAT], [sfx('__session'), Snew], [sfx('__client_uat'), UAT]]);
  C('r2-http-iss', 'rule 2: http:// issuer of this instance still belongs to it', [
    ['__session', await tok({ sub: 'user_unsuffixed', iss: `http://${HOST}`, iat: NOW - 1 })], ['__client_uat', UAT],
    [sfx('__session'), Sold], [sfx('__client_uat'), UAT]], { config: { issuer: 'off' } });
  C('r2-uppercase-scheme', 'rule 2: HTTPS:// is stripped case-insensitively', [
    ['__session', await tok({ sub: 'user_unsuffixed', iss: `HTTPS://${HOST}`, iat: NOW - 1 })], ['__client_uat', UAT],
    [sfx('__session'), Sold], [sfx('__client_uat'), UAT]], { config: { issuer: 'off' } });
  C('r2-double-scheme', 'rule 2: every scheme prefix is stripped', [
    ['__session', await tok({ sub: 'user_unsuffixed', iss: `https://https://${HOST}`, iat: NOW - 1 })], ['__client_uat', UAT],
    [sfx('__session'), Sold], [sfx('__client_uat'), UAT]], { config: { issuer: 'off' } });
  C('r2-host-case', 'rule 2: the host comparison is case-sensitive', [
    ['__session', await tok({ sub: 'user_unsuffixed', iss: 'https://CLERK.example.com' })], ['__client_uat', UAT],
    [sfx('__session'), Snew], [sfx('__client_uat'), UAT]], { config: { issuer: 'off' } });
  C('r2-iss-number', 'rule 2: a numeric iss is truthy for rule 1 and foreign for rule 2', [
    ['__session', await tok({ sub: 'user_unsuffixed', iss: 123 })], ['__client_uat', UAT],
    [sfx('__session'), Snew], [sfx('__client_uat'), UAT]], { config: { issuer: 'off' } });
  C('r3-no-suffixed', 'rule 3: no suffixed cookies: unsuffixed', [['__session', U], ['__client_uat', UAT]]);
  C('r3-only-other-suffix', 'rule 3: cookies with another suffix are not ours', [
    ['__session', U], ['__client_uat', UAT], ['__session_AAAAAAAA', Snew], ['__client_uat_AAAAAAAA', UAT]]);
  C('r4-unsuffixed-newer', 'rule 4: both signed in, unsuffixed newer: unsuffixed', [
    ['__session', U], ['__client_uat', UAT], [sfx('__session'), Sold], [sfx('__client_uat'), UAT]]);
  C('r4-suffixed-newer', 'rule 4 fails, rule 8: suffixed newer: suffixed', [
    ['__session', U], ['__client_uat', UAT], [sfx('__session'), Snew], [sfx('__client_uat'), UAT]]);
  C('r4-same-iat', 'rule 4 needs strictly newer: suffixed', [
    ['__session', U], ['__client_uat', UAT], [sfx('__session'), await tok({ sub: 'user_suffixed', iat: NOW - 10 })], [sfx('__client_uat'), UAT]]);
  C('r5-suffixed-signed-out', 'rule 5: suffixed uat 0, unsuffixed not: unsuffixed', [
    ['__session', U], ['__client_uat', UAT], [sfx('__session'), Snew], [sfx('__client_uat'), '0']]);
  C('r5-unsuffixed-uat-missing', 'rule 5: suffixed uat 0 and no unsuffixed uat: unsuffixed', [
    ['__session', U], [sfx('__session'), Snew], [sfx('__client_uat'), '0']]);
  C('r5-both-zero', 'both uats 0: rule 5 does not apply: suffixed', [
    ['__session', U], ['__client_uat', '0'], [sfx('__session'), Snew], [sfx('__client_uat'), '0']]);
  const SexpiredDev = await tok({ sub: 'user_suffixed', iat: NOW - 7200, exp: NOW - 3600, nbf: NOW - 7200 });
  const devCookie = [['__clerk_db_jwt', 'dvb_1'], [sfx('__clerk_db_jwt', 'test'), 'dvb_1']];
  C('r6-dev-expired-suffixed', 'rule 6 (development): suffixed session expired and unsuffixed uat 0: unsuffixed', [
    ['__session', U], ['__client_uat', '0'], [sfx('__session', 'test'), SexpiredDev], [sfx('__client_uat', 'test'), UAT], ...devCookie],
  { config: { instance: 'test' } });
  C('r6-dev-fresh-suffixed', 'rule 6 (development) does not apply to a fresh suffixed session: suffixed', [
    ['__session', U], ['__client_uat', '0'], [sfx('__session', 'test'), Snew], [sfx('__client_uat', 'test'), UAT], ...devCookie],
  { config: { instance: 'test' } });
  C('r6-production-skipped', 'rule 6 is development only: production reads the expired suffixed session', [
    ['__session', U], ['__client_uat', '0'], [sfx('__session'), SexpiredDev], [sfx('__client_uat'), UAT]]);
  C('r7-suffixed-session-no-uat', 'rule 7: suffixed session without its uat: unsuffixed', [
    ['__session', U], ['__client_uat', UAT], [sfx('__session'), Snew]]);
  C('r8-only-suffixed', 'rule 8: only suffixed cookies: suffixed', [[sfx('__session'), Snew], [sfx('__client_uat'), UAT]]);
  C('r8-only-suffixed-uat', 'rule 8: only a suffixed uat: suffixed, no session', [[sfx('__client_uat'), UAT]]);
  C('r4-only-suffixed-uat-with-unsuffixed', 'rule 4: a suffixed uat and an unsuffixed session: unsuffixed', [
    ['__session', U], ['__client_uat', UAT], [sfx('__client_uat'), UAT]]);
  C('r8-suffixed-empty-session', 'an empty suffixed __session counts as absent', [
    [sfx('__session'), ''], [sfx('__client_uat'), UAT]]);
  C('r8-suffixed-expired', 'suffixed session expired', [
    [sfx('__session'), await tok({ exp: NOW - 60, iat: NOW - 120 })], [sfx('__client_uat'), UAT]]);
  C('suffixed-iat-before-uat', 'suffixed session issued before the suffixed uat', [
    [sfx('__session'), Sold], [sfx('__client_uat'), String(NOW - 10)]]);
}

// ---- claims: v1 and v2 session claims
{
  const A = 'claims';
  const K = async (slug, description, over, extra = {}) => R(A, slug, description, req({ bearer: await tok(over) }), extra);
  await K('v1-org', 'v1 organization claims, verbatim', {
    org_id: 'org_1', org_role: 'org:admin', org_slug: 'acme', org_permissions: ['org:sys_memberships:manage', 'org:invoices:read'],
  });
  await K('v1-role-unprefixed', 'v1 org_role is verbatim, even without org:', { org_id: 'org_1', org_role: 'admin', org_slug: 'acme' });
  await K('v1-no-org', 'no organization', {});
  await K('v1-explicit-v1', 'v: 1', { v: 1, org_id: 'org_1', org_role: 'org:member' });
  await K('v-string-2', 'v: "2" is not 2: v1 claims', { v: '2', org_id: 'org_v1', org_role: 'org:member', o: { id: 'org_v2', rol: 'admin' } });
  await K('v2-no-o', 'v2 without o: no organization', { v: 2, fea: 'o:invoices,u:premium' });
  await K('v2-o-minimal', 'v2 o with id only', { v: 2, o: { id: 'org_1' } });
  await K('v2-role-prefixed', 'v2 rol already prefixed is prefixed again', { v: 2, o: { id: 'org_1', rol: 'org:admin' } });
  const examples = [
    ['c1', 'o:invoices,o:reports,u:premium', 'read,manage', '3,1'],
    ['c2', 'o:a,u:b,o:c', 'x,y,z', '5,2'],
    ['c3', 'ou:a,o:c', 'x,y', '2,3'],
    ['c4', 'o:a', Array.from({ length: 61 }, (_, i) => `p${i}`).join(','), (2n ** 60n + 1n).toString()],
    ['c5', 'o:a,o:b', 'x', 'z,1'],
    ['c6', 'x:a,o:b', 'p', '1'],
    ['c7', undefined, 'x', '1'],
  ];
  for (const [n, fea, per, fpm] of examples) {
    await K(`v2-example-${n}`, `section c worked example ${n}`, { v: 2, fea, o: { id: 'org_1', slg: 'acme', rol: 'admin', per, fpm } });
  }
  await K('v2-mask-beyond-64-bits', 'a 70-bit mask', {
    v: 2, fea: 'o:a', o: { id: 'org_1', rol: 'admin', per: Array.from({ length: 70 }, (_, i) => `p${i}`).join(','), fpm: (2n ** 69n + 8n).toString() },
  });
  await K('v2-mask-beyond-per', 'bits beyond per are ignored', { v: 2, fea: 'o:a', o: { id: 'org_1', per: 'x,y', fpm: '255' } });
  await K('v2-spaces', 'elements are trimmed', { v: 2, fea: ' o:a , o:b ', o: { id: 'org_1', per: ' x , y ', fpm: ' 1 , 2 ' } });
  await K('v2-per-empty', 'empty per', { v: 2, fea: 'o:a', o: { id: 'org_1', per: '', fpm: '1' } });
  await K('v2-fpm-empty', 'empty fpm', { v: 2, fea: 'o:a', o: { id: 'org_1', per: 'x', fpm: '' } });
  await K('v2-fpm-short', 'fewer masks than org features', { v: 2, fea: 'o:a,o:b,o:c', o: { id: 'org_1', per: 'x,y', fpm: '3' } });
  await K('v2-fpm-negative', 'a signed mask grants nothing', { v: 2, fea: 'o:a,o:b', o: { id: 'org_1', per: 'x', fpm: '-1,1' } });
  await K('v2-fpm-leading-zeros', 'leading zeros', { v: 2, fea: 'o:a', o: { id: 'org_1', per: 'x,y,z', fpm: '007' } });
  await K('v2-fpm-zero', 'a zero mask', { v: 2, fea: 'o:a', o: { id: 'org_1', per: 'x', fpm: '0' } });
  await K('v2-per-empty-name', 'an empty permission name is kept', { v: 2, fea: 'o:a', o: { id: 'org_1', per: 'x,', fpm: '3' } });
  await K('v2-nbsp-trim', 'JavaScript trim removes U+00A0', { v: 2, fea: '\u00a0o:a', o: { id: 'org_1', per: 'x', fpm: '1' } });
  await K('v2-nel-not-trimmed', 'JavaScript trim keeps U+0085', { v: 2, fea: 'o:a\u0085', o: { id: 'org_1', per: 'x', fpm: '1' } });
  await K('v2-fea-malformed', 'a fea element without a colon (header path): Clerk signs in and toAuth() throws',
    { v: 2, fea: 'o:a,premium', o: { id: 'org_1', rol: 'admin', per: 'x', fpm: '1' } }, { divergence: 'toauth-throws-header' });
  await K('v2-fea-trailing-comma', 'a trailing comma is an element without a colon',
    { v: 2, fea: 'o:a,', o: { id: 'org_1', per: 'x', fpm: '1' } }, { divergence: 'toauth-throws-header' });
  await K('v2-fea-malformed-no-o', 'a malformed fea without o is only read by has()', { v: 2, fea: 'premium' });
  await K('actor', 'impersonation: act.sub', { act: { sub: 'user_admin', iss: 'https://dashboard.clerk.com' } });
  await K('sts-active', 'sts active', { sts: 'active' });
  await K('sid-missing', 'no sid', { sid: undefined });
  await K('v2-o-string', 'v2 o that is a string', { v: 2, fea: 'o:a', o: 'org_1' }, { divergence: 'claim-types-not-coerced' });
}

// ---- has(): every dimension
{
  const A = 'has';
  const sample = {
    v: 2, fea: 'o:invoices,o:reports,u:premium', pla: 'u:pro,o:team', fva: [5, -1],
    o: { id: 'org_1', slg: 'acme', rol: 'admin', per: 'read,manage', fpm: '3,1' },
  };
  const H = async (slug, description, over, checks, extra = {}) =>
    R(A, slug, description, req({ bearer: await tok(over) }), { checks, ...extra });
  await H('sample-role', 'roles against o.rol = admin', sample, [
    { role: 'admin' }, { role: 'org:admin' }, { role: 'org:org:admin' }, { role: 'org:member' }, { role: 'Admin' }, { role: 'org:' },
  ]);
  await H('sample-permission', 'decoded v2 permissions', sample, [
    { permission: 'org:invoices:manage' }, { permission: 'invoices:read' }, { permission: 'org:reports:manage' },
    { permission: 'org:reports:read' }, { permission: 'reports:read' }, { permission: 'ORG:invoices:read' },
    { permission: 'org:org:invoices:read' }, { permission: 'org:premium:read' },
  ]);
  await H('sample-feature', 'features and scopes', sample, [
    { feature: 'premium' }, { feature: 'u:premium' }, { feature: 'o:premium' }, { feature: 'invoices' }, { feature: 'o:invoices' },
    { feature: 'org:invoices' }, { feature: 'organization:invoices' }, { feature: 'user:premium' }, { feature: 'x:premium' },
    { feature: 'o:invoices:extra' }, { feature: 'o:' }, { feature: ':invoices' }, { feature: 'reports' }, { feature: 'u:invoices' },
  ]);
  await H('sample-plan', 'plans and scopes', sample, [
    { plan: 'pro' }, { plan: 'org:team' }, { plan: 'user:team' }, { plan: 'u:pro' }, { plan: 'o:team' }, { plan: 'team' }, { plan: 'enterprise' },
  ]);
  await H('sample-reverification', 'fva [5,-1]', sample, [
    { reverification: 'strict' }, { reverification: 'strict_mfa' }, { reverification: 'moderate' }, { reverification: 'lax' }, { reverification: 'often' },
  ]);
  await H('sample-combined', 'several dimensions are ANDed', sample, [
    { role: 'admin', permission: 'org:reports:read' }, { role: 'admin', permission: 'org:reports:manage' },
    { role: 'admin', feature: 'premium' }, { feature: 'premium', plan: 'pro' }, { feature: 'premium', plan: 'enterprise' },
    { role: 'admin', reverification: 'strict' }, { permission: 'org:x:y', feature: 'premium' }, {},
  ]);
  const fvaChecks = [{ reverification: 'strict_mfa' }, { reverification: 'strict' }, { reverification: 'moderate' }, { reverification: 'lax' }];
  const fvas = [
    ['fva-15-5', [15, 5]], ['fva-minus1-5', [-1, 5]], ['fva-both-disabled', [-1, -1]], ['fva-0-0', [0, 0]], ['fva-10-minus1', [10, -1]],
    ['fva-9.5-minus1', [9.5, -1]], ['fva-1439-2000', [1439, 2000]], ['fva-5-59', [5, 59]], ['fva-5-60', [5, 60]], ['fva-one', [5]],
    ['fva-string', ['5', -1]], ['fva-minus2', [-2, 5]], ['fva-huge', [1e10, -1]], ['fva-fraction-negative', [-0.5, 3]],
  ];
  for (const [slug, fva] of fvas) await H(slug, `reverification with fva ${JSON.stringify(fva)}`, { fva }, fvaChecks);
  await H('fva-missing', 'no fva', {}, fvaChecks);
  await H('v1-permissions', 'v1 permissions are verbatim', {
    org_id: 'org_1', org_role: 'org:basic_member', org_permissions: ['org:sys_memberships:manage', 'org:sys_profile:read'],
  }, [
    { permission: 'org:sys_memberships:manage' }, { permission: 'sys_profile:read' }, { permission: 'org:sys_domains:manage' },
    { role: 'basic_member' }, { role: 'org:admin' },
  ]);
  await H('no-org', 'without an organization every org check fails', { fea: 'u:premium', pla: 'u:pro' }, [
    { role: 'admin' }, { permission: 'org:x:y' }, { feature: 'premium' }, { plan: 'pro' }, { feature: 'o:premium' },
  ]);
  await H('ou-scope', 'ou features count for both scopes', { v: 2, fea: 'ou:shared,o:orgonly,u:useronly', o: { id: 'org_1', rol: 'member' } }, [
    { feature: 'o:shared' }, { feature: 'u:shared' }, { feature: 'shared' }, { feature: 'u:orgonly' }, { feature: 'o:useronly' }, { role: 'member' },
  ]);
  await H('no-pla', 'no pla: plans fail', { v: 2, fea: 'u:premium' }, [{ plan: 'pro' }, { feature: 'premium' }]);
  await H('malformed-fea-has', 'a fea without o that splitByScope rejects: features fail, the rest stands',
    { v: 2, fea: 'premium', pla: 'u:pro' }, [{ feature: 'premium' }, { plan: 'pro' }]);
  R(A, 'pending-all-false', 'pending sessions answer every has() with false', req({ bearer: pending }),
    { checks: [{ role: 'admin' }, { feature: 'premium' }], divergence: 'pending-is-signed-out' });
  R(A, 'signed-out-all-false', 'signed out: every has() is false', req(), { checks: [{ role: 'admin' }, { reverification: 'lax' }] });
  await H('empty-user', 'sub "" is no user: has() is false', { sub: '', org_id: 'org_1', org_role: 'org:admin' }, [{ role: 'admin' }]);
}

// ---- machine tokens: not accepted, so token-type-mismatch
{
  const A = 'machine';
  R(A, 'oauth-typ', 'OAuth access token (typ at+jwt) in the header', req({ bearer: await tok({}, { header: { typ: 'at+jwt' } }) }));
  R(A, 'oauth-typ-application', 'OAuth access token (typ application/at+jwt)', req({ bearer: await tok({}, { header: { typ: 'application/at+jwt' } }) }));
  R(A, 'm2m-sub', 'M2M JWT (sub mch_)', req({ bearer: await tok({ sub: 'mch_1' }) }));
  R(A, 'm2m-cat', 'M2M category', req({ bearer: await tok({ sub: 'mch_1' }, { header: { cat: 'cl_B7d4PD333AAA' } }) }));
  R(A, 'm2m-cat-user-sub', 'M2M category with a user subject', req({ bearer: await tok({}, { header: { cat: 'cl_B7d4PD333AAA' } }) }));
  R(A, 'cookie-oauth', 'OAuth access token in the session cookie', req({ cookies: [['__session', await tok({}, { header: { typ: 'at+jwt' } })], ['__client_uat', UAT]] }));
  R(A, 'cookie-m2m', 'M2M JWT in the session cookie', req({ cookies: [['__session', await tok({ sub: 'mch_1' })], ['__client_uat', UAT]] }));
  {
    const [th, tp, ts] = (await tok({}, { header: { typ: 'at+jwt' } })).split('.');
    R(A, 'oauth-padded-not-machine', 'with base64 padding the token is not in machine JWT form: typ fails as token-invalid',
      req({ bearer: `${th}.${tp}.${ts}${'='.repeat((4 - (ts.length % 4)) % 4)}` }));
  }
}

// ---- handshake eligibility, redirect and resolution
{
  const A = 'handshake';
  const E = await tok({ exp: NOW - 60, iat: NOW - 120 });
  const expCookies = [['__session', E], ['__client_uat', UAT]];
  const H = (slug, description, r, extra = {}) => R(A, slug, description, r, extra);
  const HS = {};
  H('expired-document', 'expired cookie session on a document GET', req({ headers: DOC, cookies: expCookies }), HS);
  H('expired-accept-html', 'no Sec-Fetch-Dest and Accept starting with text/html', req({ headers: [['accept', 'text/html']], cookies: expCookies }), HS);
  H('expired-accept-html-not-first', 'Accept that only includes text/html is not eligible',
    req({ headers: [['accept', 'application/json, text/html']], cookies: expCookies }));
  H('expired-iframe', 'Sec-Fetch-Dest iframe', req({ headers: [['sec-fetch-dest', 'iframe']], cookies: expCookies }), HS);
  H('expired-fetch-with-html', 'Sec-Fetch-Dest empty wins over Accept', req({ headers: [['sec-fetch-dest', 'empty'], ['accept', 'text/html']], cookies: expCookies }));
  H('expired-head', 'HEAD is not eligible', req({ method: 'HEAD', headers: DOC, cookies: expCookies }));
  H('expired-post-document', 'POST is not eligible', req({ method: 'POST', headers: DOC, cookies: expCookies }));
  H('no-uat-document', 'session without uat on a document GET', req({ headers: DOC, cookies: [['__session', valid]] }), HS);
  H('uat-no-session-document', 'uat without session on a document GET', req({ headers: DOC, cookies: [['__client_uat', UAT]] }), HS);
  H('iat-before-uat-document', 'session older than uat on a document GET',
    req({ headers: DOC, cookies: [['__session', valid], ['__client_uat', String(NOW - 5)]] }), HS);
  H('nbf-document', 'session not yet valid on a document GET',
    req({ headers: DOC, cookies: [['__session', await tok({ nbf: NOW + 60 })], ['__client_uat', UAT]] }), HS);
  H('iat-future-document', 'session issued in the future on a document GET',
    req({ headers: DOC, cookies: [['__session', await tok({ iat: NOW + 60 })], ['__client_uat', UAT]] }), HS);
  H('missing-document', 'no cookies at all is never a handshake', req({ headers: DOC }));
  H('bad-signature-document', 'a bad signature is never a handshake', req({ headers: DOC, cookies: [['__session', otherKey], ['__client_uat', UAT]] }));
  H('redirect-count-2', 'the third round trip', req({ headers: DOC, cookies: [...expCookies, ['__clerk_redirect_count', '2']] }), HS);
  H('redirect-count-3', 'the loop guard: exactly 3 answers signed out', req({ headers: DOC, cookies: [...expCookies, ['__clerk_redirect_count', '3']] }));
  H('redirect-count-4', 'the guard fires only at exactly 3', req({ headers: DOC, cookies: [...expCookies, ['__clerk_redirect_count', '4']] }), HS);
  H('suffixed-document', 'suffixed cookies on a document GET', req({ headers: DOC, cookies: [[sfx('__session'), E], [sfx('__client_uat'), UAT]] }), HS);
  H('query-kept', 'the redirect_url keeps the query', req({ path: '/dashboard?tab=billing&x=a%20b', headers: DOC, cookies: expCookies }), HS);
  // Handshake resolution (an inbound __clerk_handshake or nonce).
  const fresh = await tok({ sub: 'user_handshake', iat: NOW - 1 });
  const hsToken = raw(HEADER, { handshake: [`__session=${fresh}; Path=/; Secure; SameSite=Lax`, `__client_uat=${NOW - 1}; Path=/; Secure`] });
  H('resolve-token-cookie', 'a __clerk_handshake cookie carrying a fresh session', req({ cookies: [['__clerk_handshake', hsToken]] }));
  H('resolve-token-query', 'a __clerk_handshake query parameter', req({ path: `/dashboard?__clerk_handshake=${hsToken}` }));
  H('resolve-token-no-session', 'a handshake without a session directive',
    req({ cookies: [['__clerk_handshake', raw(HEADER, { handshake: ['__client_uat=0; Path=/'] })]] }));
  H('resolve-nonce', 'a handshake nonce resolved through the Backend API',
    req({ cookies: [['__clerk_handshake_nonce', 'nonce_1']] }), {
      bapi: [{ method: 'GET', url: 'https://api.clerk.com/v1/clients/handshake_payload', status: 200,
        body: { directives: [`__session=${fresh}; Path=/`, `__client_uat=${NOW - 1}; Path=/`] } }],
    });
  H('resolve-suffixed-directives', 'a handshake setting suffixed cookies and the dev browser token',
    req({ cookies: [['__clerk_handshake', raw(HEADER, { handshake: [`${sfx('__session')}=${fresh}; Path=/`,
      `${sfx('__client_uat')}=${NOW - 1}; Path=/`, `${sfx('__refresh')}=rt_2; Path=/; HttpOnly`, '__clerk_handshake=; Path=/; Max-Age=0'] })]] }));
  // Deliberate differences: a handshake that cannot be resolved signs out
  // with a reason of its own and sets nothing; only Clerk's cookies are set.
  H('resolve-token-other-key', 'a handshake token signed by another key',
    req({ cookies: [...good, ['__clerk_handshake', raw(HEADER, { handshake: [`__session=${fresh}; Path=/`] }, { key: 'other' })]] }),
    { divergence: 'handshake-rejected' });
  H('resolve-token-unsigned-query', 'an unsigned handshake token in the URL',
    req({ path: `/dashboard?__clerk_handshake=${raw({ ...HEADER, alg: 'none' }, { handshake: [`__session=${fresh}; Path=/`] })}` }),
    { divergence: 'handshake-rejected' });
  H('resolve-token-template', 'a JWT template is not a handshake token',
    req({ cookies: [['__clerk_handshake', raw({ ...HEADER, cat: 'cl_B7d4PD222AAA' }, { handshake: [`__session=${fresh}; Path=/`] })]] }),
    { divergence: 'handshake-rejected' });
  H('resolve-nonce-unknown', 'a nonce the Backend API does not know',
    req({ cookies: [['__clerk_handshake_nonce', 'nonce_unknown']] }), {
      divergence: 'handshake-rejected',
      bapi: [{ method: 'GET', url: 'https://api.clerk.com/v1/clients/handshake_payload', status: 404,
        body: { errors: [{ code: 'resource_not_found', message: 'not found', long_message: 'not found' }] } }],
    });
  H('resolve-expired-session', 'a handshake whose session token is expired',
    req({ cookies: [['__clerk_handshake', raw(HEADER, { handshake: [`__session=${E}; Path=/`] })]] }),
    { divergence: 'handshake-rejected' });
  H('resolve-foreign-cookies', 'a handshake that sets other cookies than Clerk\'s',
    req({ cookies: [['__clerk_handshake', raw(HEADER, { handshake: ['evil=1; Path=/', '__session_other=x; Path=/',
      '__clerk_redirect_count=9; Path=/', `__session=${fresh}; Path=/`] })]] }),
    { divergence: 'handshake-cookies-filtered' });
}

// ---- development instances
{
  const A = 'dev';
  const D = (slug, description, r, extra = {}) => R(A, slug, description, r, { ...extra, config: { instance: 'test', ...(extra.config || {}) } });
  const db = ['__clerk_db_jwt', 'dvb_1'];
  D('cookie-no-dev-browser', 'valid cookie session, no dev browser token', req({ cookies: good }));
  D('cookie-no-dev-browser-document', 'valid cookie session, no dev browser token, document GET', req({ headers: DOC, cookies: good }));
  D('nothing-no-dev-browser', 'no cookies at all, no dev browser token', req());
  D('cookie-with-dev-browser', 'valid cookie session with a dev browser token', req({ cookies: [...good, db] }));
  D('nothing-with-dev-browser', 'no session, with a dev browser token', req({ cookies: [db] }));
  D('dev-browser-query', 'a __clerk_db_jwt query parameter', req({ path: '/dashboard?__clerk_db_jwt=dvb_2', cookies: [...good, db] }));
  D('dev-browser-query-document', 'a __clerk_db_jwt query parameter on a document GET',
    req({ path: '/dashboard?__clerk_db_jwt=dvb_2&tab=1', headers: DOC, cookies: [...good, db] }));
  D('redirect-url-query', 'a __clerk_redirect_url query parameter (primary answers a satellite)',
    req({ path: '/dashboard?__clerk_redirect_url=https%3A%2F%2Fsatellite.example.org%2F', cookies: [...good, db] }));
  D('redirect-url-query-document', 'a __clerk_redirect_url query parameter on a document GET: Clerk redirects there',
    req({ path: '/dashboard?__clerk_redirect_url=https%3A%2F%2Fsatellite.example.org%2F', headers: DOC, cookies: [...good, db] }),
    { divergence: 'no-redirect-from-request' });
  D('header-token', 'the header path has no dev browser rule', req({ bearer: valid }));
  D('expired-document', 'expired cookie on a document GET with a dev browser token',
    req({ headers: DOC, cookies: [['__session', await tok({ exp: NOW - 60, iat: NOW - 120 })], ['__client_uat', UAT], db] }));
  D('xo-dev-account-portal', 'a referer from a development account portal is known in development',
    req({ headers: [...DOC, ['referer', 'https://happy-hippo-12.accounts.dev/sign-in']], cookies: [...good, db] }));
  D('suffixed-dev-browser', 'suffixed cookies read the suffixed dev browser token',
    req({ cookies: [[sfx('__session', 'test'), valid], [sfx('__client_uat', 'test'), UAT], [sfx('__clerk_db_jwt', 'test'), 'dvb_1']] }));
}

// ---- refresh through the Backend API (recorded answers)
{
  const A = 'refresh';
  const E = await tok({ exp: NOW - 60, iat: NOW - 120 });
  const fresh = await tok({ iat: NOW - 1, sub: 'user_refreshed' });
  const refreshURL = 'https://api.clerk.com/v1/sessions/sess_1/refresh';
  const expS = [[sfx('__session'), E], [sfx('__client_uat'), UAT], [sfx('__refresh'), 'rt_1']];
  R(A, 'bapi-rejects', 'eligible refresh, the Backend API rejects it', req({ cookies: expS }), {
    bapi: [{ method: 'POST', url: refreshURL, status: 401, body: { errors: [{ code: 'authentication_invalid', message: 'invalid', long_message: 'invalid' }] } }],
  });
  R(A, 'bapi-unexpected', 'eligible refresh, the Backend API fails', req({ cookies: expS }), {
    bapi: [{ method: 'POST', url: refreshURL, status: 500, body: { errors: [{ code: 'unexpected_error', message: 'boom', long_message: 'boom' }] } }],
  });
  R(A, 'bapi-refreshes', 'eligible refresh that succeeds', req({ cookies: expS }), {
    bapi: [{ method: 'POST', url: refreshURL, status: 200, body: { object: 'cookies', cookies: [`__session_${SFX.live}=${fresh}; Path=/`] } }],
  });
  R(A, 'no-sid', 'eligible refresh of a token without sid', req({ cookies: [[sfx('__session'), await tok({ exp: NOW - 60, iat: NOW - 120, sid: undefined })], [sfx('__client_uat'), UAT], [sfx('__refresh'), 'rt_1']] }));
  R(A, 'post-not-eligible', 'POST is never refreshed', req({ method: 'POST', cookies: expS }));
  R(A, 'header-token', 'an expired header token with a refresh cookie', req({ bearer: E, cookies: [[sfx('__refresh'), 'rt_1']] }), {
    bapi: [{ method: 'POST', url: refreshURL, status: 401, body: { errors: [{ code: 'authentication_invalid', message: 'invalid', long_message: 'invalid' }] } }],
  });
}

// ---- JWKS through the Backend API (recorded answers)
{
  const A = 'jwks';
  const J = (slug, description, r, answer, extra = {}) => R(A, slug, description, r, {
    ...extra,
    config: { instance: 'live', jwtKey: null, secretKey: `sk_live_jwks_${slug}` },
    bapi: [{ method: 'GET', url: 'https://api.clerk.com/v1/jwks', ...answer }],
  });
  const keys = { keys: [jwkOf('main', 'ins_conformance')] };
  J('known-kid', 'the kid is in the JWKS', req({ bearer: valid }), { status: 200, body: keys });
  J('unknown-kid', 'the kid is not in the JWKS', req({ bearer: await tok({}, { header: { kid: 'ins_rotated' } }) }), { status: 200, body: keys });
  J('secret-key-invalid', 'the Backend API rejects the secret key', req({ bearer: valid }),
    { status: 401, body: { errors: [{ code: 'clerk_key_invalid', message: 'Secret key invalid', long_message: 'Secret key invalid' }] } });
  J('server-error', 'the Backend API fails', req({ bearer: valid }),
    { status: 500, body: { errors: [{ code: 'internal_clerk_error', message: 'boom', long_message: 'boom' }] } });
  J('no-keys', 'the JWKS is empty', req({ bearer: valid }), { status: 200, body: { keys: [] } });
  J('rs384-against-rs256-key', 'an RS384 token against a key pinned to RS256', req({ bearer: await tok({}, { header: { alg: 'RS384' } }) }),
    { status: 200, body: keys });
  J('rsa-3072', 'a 3072-bit key from the JWKS', req({ bearer: await tok({}, { key: 'big', header: { kid: 'ins_big' } }) }),
    { status: 200, body: { keys: [jwkOf('big', 'ins_big')] } });
}

// ---- exotic encodings and claim types (decoder differences)
{
  const A = 'exotic';
  const [h, p, s] = valid.split('.');
  // The last base64url character of a 256-byte signature carries 4 unused bits.
  const flipTail = (seg) => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(seg[seg.length - 1]);
    if ((seg.length * 6) % 8 === 0) throw new Error('segment has no unused bits');
    return seg.slice(0, -1) + alphabet[last | 1];
  };
  R(A, 'signature-nonzero-padding-bits', 'the signature\'s unused trailing bits are set', req({ bearer: `${h}.${p}.${flipTail(s)}` }));
  {
    // A header whose base64url form has unused trailing bits, signed as is.
    let kid = 'ins_conformance';
    while ((b64u(JSON.stringify({ ...HEADER, kid })).length * 6) % 8 === 0) kid += 'x';
    const [hh, hp, hs] = raw({ ...HEADER, kid }, claims()).split('.');
    R(A, 'header-nonzero-padding-bits', 'the header segment\'s unused trailing bits are set (the signature covers the text as sent)',
      req({ bearer: `${flipTail(hh)}.${hp}.${hs}` }));
  }
  R(A, 'cookie-newline-in-signature', 'a percent-encoded newline inside the signature of a cookie token',
    req({ cookies: [['__session', `${h}.${p}.${s.slice(0, 10)}%0A${s.slice(10)}`], ['__client_uat', UAT]] }));
  const base = claims();
  const dup = (key, first, second) => JSON.stringify(base).replace(/}$/, `,"${key}":${JSON.stringify(second)}}`)
    .replace(`"${key}":${JSON.stringify(base[key])}`, `"${key}":${JSON.stringify(first)}`);
  R(A, 'duplicate-sub-last-number', 'duplicate sub, the last one a number (JSON.parse keeps the last)',
    req({ bearer: raw(HEADER, dup('sub', 'user_1', 5)) }));
  R(A, 'duplicate-sub-last-string', 'duplicate sub, the last one a string', req({ bearer: raw(HEADER, dup('sub', 5, 'user_1')) }));
  R(A, 'duplicate-exp-last-string', 'duplicate exp, the last one a string', req({ bearer: raw(HEADER, dup('exp', NOW + 600, 'soon')) }));
  R(A, 'duplicate-exp-last-expired', 'duplicate exp, the last one expired', req({ bearer: raw(HEADER, dup('exp', NOW + 600, NOW - 600)) }));
  R(A, 'header-array', 'a JSON array as header', req({ bearer: raw('[]', base) }), { divergence: 'jose-json-objects-only' });
  R(A, 'payload-array', 'a JSON array as payload', req({ bearer: raw(HEADER, '["user_1"]') }), { divergence: 'jose-json-objects-only' });
  R(A, 'payload-string', 'a JSON string as payload', req({ bearer: raw(HEADER, '"user_1"') }), { divergence: 'jose-json-objects-only' });
  R(A, 'payload-null', 'JSON null as payload', req({ bearer: raw(HEADER, 'null') }), { divergence: 'jose-json-objects-only' });
  R(A, 'cookie-iat-null', 'iat null in a cookie token (null < uat in JavaScript)',
    req({ cookies: [['__session', await tok({ iat: null })], ['__client_uat', UAT]] }));
  R(A, 'cookie-iat-string', 'iat "1" in a cookie token (compared as a number in JavaScript)',
    req({ cookies: [['__session', await tok({ iat: '1' })], ['__client_uat', UAT]] }));
  R(A, 'v2-float', 'v: 2.0 is 2', req({ bearer: raw(HEADER, JSON.stringify(claims({ v: 0, o: { id: 'org_1', rol: 'admin' } })).replace('"v":0', '"v":2.0')) }));
  R(A, 'v2-o-array', 'v2 o that is an array', req({ bearer: await tok({ v: 2, o: ['org_1'] }) }), { divergence: 'claim-types-not-coerced' });
  R(A, 'v2-rol-number', 'v2 o.rol that is a number', req({ bearer: await tok({ v: 2, o: { id: 'org_1', rol: 7 } }) }), { divergence: 'claim-types-not-coerced' });
}

// ---- route patterns through Clerk's path matcher
{
  const A = 'route';
  const P = (patterns, path_, divergence, note) => {
    const slug = `${patterns.join('|')} ${path_}`;
    add(A, slug, { description: note || `${JSON.stringify(patterns)} against ${path_}`, patterns, path: path_, ...(divergence ? { divergence } : {}) });
  };
  const SUS = 'suspicious-path';
  const CLEAN = 'path-cleaning';
  for (const p of ['/sign-in', '/sign-in/', '/sign-in/factor-one', '/SIGN-IN', '/sign-inxyz', '/sign-up', '/x/sign-in', '//sign-in', '/sign-%69n', '/sign-in%252F']) P(['/sign-in(.*)'], p);
  P(['/sign-in(.*)'], '/sign-in%2Ffoo', SUS, 'an encoded slash is never public');
  P(['/sign-in(.*)'], '/sign-in%3Fx', SUS, 'an encoded ? (Clerk keeps it encoded, we decode it)');
  P(['/sign-in(.*)'], '/sign-in;jsessionid=1', SUS, 'a ; is never public');
  P(['/sign-in(.*)'], '/sign-in/../admin', CLEAN, 'dot segments: Clerk matches the raw text, we match /admin');
  P(['/sign-in(.*)'], '/sign-in%0a', SUS, 'a newline');
  P(['/sign-in(.*)'], '/sign-in%00', SUS, 'a NUL');
  P(['/sign-in(.*)'], '/sign-in%5Cx', SUS, 'a backslash');
  for (const p of ['/dashboard', '/dashboard/', '/dashboard//', '/DashBoard', '/dashboard/x', '/dashboardx', '/dash%62oard']) P(['/dashboard'], p);
  P(['/dashboard'], '/dashboard%3F', SUS);
  P(['/dashboard'], '/dashboard%23', SUS);
  P(['/dashboard'], '/dashboard/.', CLEAN);
  P(['/dashboard'], '/./dashboard', CLEAN);
  P(['/dashboard'], '/dashboard/%2e', CLEAN);
  P(['/dashboard'], '/a/b/../../dashboard', CLEAN);
  for (const p of ['/dashboard', '/dashboard/', '/dashboard/a', '/dashboard/a/b/c', '/dashboardx', '/dashboard/a/']) P(['/dashboard/:path*'], p);
  for (const p of ['/api', '/api/', '/api/users', '/API/x', '/apix', '/%41pi/x', '/api//users']) P(['/api/(.*)'], p);
  P(['/api/(.*)'], '/api/../admin', CLEAN);
  P(['/api/(.*)'], '/api/%2e%2e/admin', CLEAN);
  P(['/api/(.*)'], '/api%2Fusers', SUS);
  P(['/api/(.*)'], '/api/%E2%80%A8', undefined, 'U+2028 is a line terminator for JavaScript\'s .');
  P(['/api/(.*)'], '/api/%0d', SUS, 'a carriage return');
  for (const p of ['/', '//', '/x']) P(['/'], p);
  for (const p of ['/org/acme', '/org/acme/', '/org', '/org/', '/org/a/b', '/ORG/Acme']) P(['/org/:slug'], p);
  P(['/org/:slug'], '/org/a%2Fb', SUS);
  for (const p of ['/sign-up/x', '/', '/other']) P(['/sign-in(.*)', '/sign-up(.*)', '/'], p);
  for (const p of ['/blog', '/blog/x', '/blog/x/y']) P(['/blog/:slug?'], p);
  for (const p of ['/files', '/files/a', '/files/a/b']) P(['/files/:path+'], p);
  for (const p of ['/users/123', '/users/abc', '/users/1a']) P(['/users/:id(\\d+)'], p);
  for (const p of ['/docs', '/docs/intro', '/docs/a/b']) P(['/docs{/:section}?'], p);
  for (const p of ['/anything/at/all', '/']) P(['/(.*)'], p);
  P(['/(.*)'], '/%e2%82%ac', undefined, 'a valid UTF-8 escape');
  for (const p of ['/a%zz', '/a%c0%ae', '/a%ff', '/a%e2%82', '/a%']) P(['/(.*)'], p, undefined, 'malformed escapes are 400');
  P(['/café'], '/caf%C3%A9');
  P(['/café'], '/CAF%C3%89', undefined, 'non-ASCII case folding');
  P(['/k'], '/%E2%84%AA', undefined, 'the Kelvin sign does not fold to k');
  P(['/s'], '/%C5%BF', undefined, 'long s does not fold to s');
  P(['/straße'], '/STRASSE');
  P(['/admin(.*)'], '/public/../admin', CLEAN, 'protected_routes: we protect what the path really is');
  P(['/admin(.*)'], '/Admin/Users');
  P(['/:'], '/x', undefined, 'a parameter without a name does not compile');
  P(['/('], '/x', undefined, 'an unbalanced group does not compile');
  P(['/(?x)'], '/x', undefined, 'a group starting with ? does not compile');
}

const out = {
  comment: 'Generated by conformance/generate.mjs; decided by Clerk in clerk-decisions.json (conformance/oracle.mjs). Do not edit.',
  nowMs: NOW_MS,
  app: APP,
  instances: INSTANCES,
  keys: publicPEM,
  cases,
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
