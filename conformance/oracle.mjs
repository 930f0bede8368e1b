// oracle.mjs asks Clerk's own SDK to decide every case of a cases file and
// prints its decisions as JSON (testdata/clerk-decisions.json):
//
//   node oracle.mjs testdata/cases.json > testdata/clerk-decisions.json
//
// It runs fully offline: tokens are verified with the networkless jwtKey (or,
// for the jwks cases, against the JWKS the case records), globalThis.fetch is
// replaced by the Backend API answers each case records (any other fetch
// fails the run), the clock is frozen at the case's time (Date and Date.now),
// and timers fire at once so that Clerk's retry backoff costs no time.
//
// Each decision holds the compared fields (see README.md beside this file)
// and, under `extra`, what is recorded but not compared.

import fs from 'node:fs';

const casesPath = process.argv[2];
if (!casesPath) {
  console.error('usage: node oracle.mjs <cases.json>');
  process.exit(2);
}
const data = JSON.parse(fs.readFileSync(casesPath, 'utf8'));

// ---- frozen clock
let nowMs = data.nowMs;
const RealDate = Date;
class FrozenDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(nowMs);
    else super(...args);
  }
  static now() {
    return nowMs;
  }
}
globalThis.Date = FrozenDate;

// ---- recorded Backend API answers; anything else is an error
let answers = [];
let fetchLog = [];
const unexpected = [];
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url ?? String(input));
  const method = (init.method || (typeof input === 'object' && input.method) || 'GET').toUpperCase();
  const where = `${url.origin}${url.pathname}`;
  fetchLog.push(`${method} ${url.href}`);
  const answer = answers.find((a) => a.method === method && a.url === where);
  if (!answer) {
    unexpected.push(`${currentCase}: unexpected fetch ${method} ${url.href}`);
    throw new Error(`conformance oracle: unexpected fetch ${method} ${url.href}`);
  }
  return new Response(JSON.stringify(answer.body ?? {}), {
    status: answer.status,
    headers: { 'content-type': 'application/json' },
  });
};

// ---- no waiting, no noise
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (fn, _ms, ...args) => realSetTimeout(fn, 0, ...args);
const logs = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => logs.push(args.map(String).join(' '));
}
const stderr = (s) => process.stderr.write(`${s}\n`);

// Clerk binds fetch when its runtime module loads, so import it only now.
const { createClerkClient } = await import('@clerk/backend');
const { createPathMatcher } = await import('@clerk/shared/pathMatcher');

let currentCase = '';

// nullable maps undefined and "" to null: both sides report "no value" alike.
const nullable = (v) => (v === undefined || v === null || v === '' ? null : v);

function parseLocation(location) {
  if (!location) return null;
  const u = new URL(location);
  return { url: `${u.origin}${u.pathname}`, params: [...u.searchParams.entries()] };
}

async function decideRequest(c) {
  const inst = data.instances[c.config.instance];
  const jwtKey = c.config.jwtKey ? data.keys[c.config.jwtKey] : undefined;
  const clerk = createClerkClient({
    publishableKey: inst.publishableKey,
    secretKey: c.config.secretKey || inst.secretKey,
    ...(jwtKey ? { jwtKey } : {}),
    telemetry: { disabled: true },
  });
  const options = {};
  if (c.config.authorizedParties) options.authorizedParties = c.config.authorizedParties;
  if (c.config.clockSkewMs !== undefined) options.clockSkewInMs = c.config.clockSkewMs;
  // An explicit issuer URL is something Clerk can check too; "off" and the
  // default (no issuer) mean no check for Clerk.
  if (c.config.issuer && c.config.issuer !== 'off') options.issuer = c.config.issuer;

  const headers = new Headers();
  for (const [name, value] of c.request.headers) headers.append(name, value);
  const request = new Request(c.request.url, { method: c.request.method, headers });

  let state;
  try {
    state = await clerk.authenticateRequest(request, options);
  } catch (err) {
    return { decision: { status: 'throws', reason: String(err?.message || err) }, extra: {} };
  }

  let auth = null;
  let toAuthError = null;
  try {
    auth = state.toAuth();
  } catch (err) {
    toAuthError = String(err?.message || err);
  }
  const authenticated = !!auth?.isAuthenticated;
  const actor = auth?.actor;
  const h = state.headers;
  const has = (c.checks || []).map((check) => {
    try {
      return !!auth?.has(check);
    } catch {
      return false;
    }
  });
  const decision = {
    status: state.status,
    reason: nullable(state.reason),
    tokenType: authenticated ? nullable(auth.tokenType) : null,
    userId: nullable(auth?.userId),
    sessionId: nullable(auth?.sessionId),
    sessionStatus: nullable(auth?.sessionStatus),
    actorId: actor && typeof actor.sub === 'string' ? nullable(actor.sub) : null,
    orgId: nullable(auth?.orgId),
    orgRole: nullable(auth?.orgRole),
    orgSlug: nullable(auth?.orgSlug),
    orgPermissions: auth?.orgPermissions ?? null,
    has,
    authStatusHeader: h.get('x-clerk-auth-status'),
    authReasonHeader: h.get('x-clerk-auth-reason'),
    location: parseLocation(h.get('location')),
    setCookie: h.getSetCookie(),
  };
  const extra = {
    message: nullable(state.message),
    cacheControl: h.get('cache-control'),
    ...(toAuthError ? { toAuthError } : {}),
    ...(fetchLog.length ? { fetches: fetchLog } : {}),
  };
  return { decision, extra };
}

function decideRoute(c) {
  let matcher;
  try {
    matcher = createPathMatcher(c.patterns);
  } catch (err) {
    return { decision: { compileError: true, malformed: null, publicMatch: null, protectedMatch: null }, extra: { error: String(err.message) } };
  }
  try {
    const matched = matcher(c.path);
    return { decision: { compileError: false, malformed: false, publicMatch: matched, protectedMatch: matched }, extra: {} };
  } catch (err) {
    if (err?.name !== 'MalformedURLError') throw err;
    return { decision: { compileError: false, malformed: true, publicMatch: null, protectedMatch: null }, extra: {} };
  }
}

const decisions = [];
for (const c of data.cases) {
  currentCase = c.id;
  nowMs = c.nowMs ?? data.nowMs;
  answers = c.bapi || [];
  fetchLog = [];
  const { decision, extra } = c.kind === 'route' ? decideRoute(c) : await decideRequest(c);
  if (c.kind === 'request' && answers.length && fetchLog.length === 0) {
    unexpected.push(`${c.id}: records Backend API answers that Clerk never asked for`);
  }
  decisions.push({ id: c.id, clerk: decision, ...(Object.keys(extra).length ? { extra } : {}) });
}

if (unexpected.length) {
  for (const u of unexpected) stderr(u);
  process.exit(1);
}

const pkg = (name) => JSON.parse(fs.readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
const out = {
  comment: 'Clerk\'s own decisions for testdata/cases.json, produced by conformance/oracle.mjs. Do not edit.',
  oracle: { '@clerk/backend': pkg('@clerk/backend'), '@clerk/shared': pkg('@clerk/shared'), jose: pkg('jose') },
  decisions,
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
