// Test harness: a real `tessera` server on a fresh data directory, the admin REST API,
// oathtool for TOTP codes, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..');
export const BIN = process.env.TESSERA_BIN || join(ROOT, 'target', 'debug', 'tessera');
export const SCREENSHOTS = process.env.TESSERA_SCREENSHOTS || join(ROOT, 'e2e', 'screenshots');
export const ADMIN = 'admin@contoso.com';
export const ADMIN_PASSWORD = 'e2e admin password';
export const TENANT = 'contoso';
/** The viewports of the screenshots: a laptop and a phone. */
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Starts `tessera init` + `tessera serve` on port 0; resolves when it is listening. `args` are
 * more options of `tessera serve` (e.g. `['--trusted-proxy', '127.0.0.1/32']`); the port of
 * another listener it announces (`listening on ldap://...`) is `await server.port('ldap')`.
 */
export async function startServer({ args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  const pwFile = join(dir, 'admin.pw');
  writeFileSync(pwFile, ADMIN_PASSWORD + '\n');
  execFileSync(BIN, ['init', '--data-dir', join(dir, 'data'), '--tenant', TENANT, '--admin', ADMIN,
    '--admin-password-file', pwFile], { stdio: 'pipe' });
  const child = spawn(BIN, ['serve', '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TESSERA_LOG: 'warn' } });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  /** The port of the `scheme://127.0.0.1:PORT` listener, once the server has said it listens there. */
  const listenPort = (scheme) => new Promise((ok, fail) => {
    const re = new RegExp(`listening on ${scheme}://127\\.0\\.0\\.1:(\\d+)`);
    const timer = setTimeout(() => done(new Error(`no ${scheme} listener after 30 s:\n${out}${log}`)), 30000);
    const check = () => { const m = out.match(re); if (m) done(null, Number(m[1])); };
    const exited = (code) => done(new Error(`server exited ${code}:\n${log}`));
    function done(err, port) {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.off('exit', exited);
      if (err) fail(err); else ok(port);
    }
    child.stdout.on('data', check);
    child.on('exit', exited);
    check();
  });
  const port = await listenPort('http');
  // localhost, not 127.0.0.1: browsers treat it as a secure context (Secure cookies, WebAuthn).
  const base = `http://localhost:${port}`;
  const server = { base, child, dir, log: () => log, port: listenPort, stop: () => child.kill('SIGTERM') };
  server.token = await apiToken(server, ADMIN, ADMIN_PASSWORD);
  return server;
}

/** The help text of `tessera serve` (to find out which options this build has). */
export function serveHelp() {
  return execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
}

export async function apiToken(server, upn, password) {
  const r = await fetch(`${server.base}/api/v1/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: TENANT, upn, password }),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`token for ${upn}: ${r.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Calls the admin API as the tenant's Global Administrator. */
export async function api(server, method, path, body, token = server.token) {
  const r = await fetch(`${server.base}/api/v1/tenants/${TENANT}${path}`, {
    method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** The TOTP code oathtool computes for a base32 secret, now or at `date`. */
export function oathtool(secretBase32, date) {
  const args = ['--totp', '-b', secretBase32];
  if (date) args.push('--now', date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));
  return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}

/** Waits until the next 30-second TOTP step starts, so a new code exists. */
export async function nextTotpStep() {
  const ms = 30000 - (Date.now() % 30000) + 250;
  await new Promise((ok) => setTimeout(ok, ms));
}

/** The last TOTP step this harness used, per key: the server refuses a step used before. */
const usedSteps = new Map();

/**
 * A TOTP code for `secretBase32` from a step this harness has not used yet for that key:
 * the current step's code, or (when it was used already) the next step's, after waiting for it.
 */
export async function freshTotp(secretBase32) {
  const stepNow = () => Math.floor(Date.now() / 30000);
  if ((usedSteps.get(secretBase32) ?? -1) >= stepNow()) await nextTotpStep();
  const step = stepNow();
  usedSteps.set(secretBase32, step);
  return oathtool(secretBase32, new Date(step * 30000));
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** A browser context of its own (cookies, sessions) with a `viewport` (default DESKTOP). */
export async function newContext(browser, viewport = DESKTOP) {
  return browser.newContext({ viewport });
}

/** Saves `SCREENSHOTS/name.png`: the whole page, or only the viewport with `{ fullPage: false }`. */
export async function screenshot(page, name, { fullPage = true } = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/**
 * Clicks `locator` and waits until the page it leads to (a link, or a form post and its
 * redirects) has loaded. Returns the main-frame response of that page.
 */
export async function clickAndLoad(page, locator) {
  const response = page.waitForResponse((r) => r.request().isNavigationRequest() && r.frame() === page.mainFrame()
    && !(r.status() >= 300 && r.status() < 400));
  await locator.click();
  const r = await response;
  await page.waitForLoadState('load');
  return r;
}

/**
 * Signs `upn` in through the sign-in pages (user name, then password). With `returnTo` (a
 * path) the sign-in page is opened as `/t/{tenant}/signin?return=PATH`. Does not wait for
 * where the sign-in leads (the MFA prompt, registration, or `returnTo`).
 */
export async function signIn(page, server, upn, password, returnTo) {
  const query = returnTo ? `?return=${encodeURIComponent(returnTo).replace(/%2F/g, '/')}` : '';
  await page.goto(`${server.base}/t/${TENANT}/signin${query}`);
  await page.getByLabel('Email or user name').fill(upn);
  await clickAndLoad(page, page.getByRole('button', { name: 'Next' }));
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Signs an administrator in (by default the Global Administrator from `tessera init`, whose
 * state is disabled: password only) at `/t/{tenant}/signin?return=/admin/{tenant}/mfa` and
 * waits until the multi-factor authentication page of the admin center has loaded.
 */
export async function signInAdmin(page, server, upn = ADMIN, password = ADMIN_PASSWORD) {
  const mfa = `/admin/${TENANT}/mfa`;
  await signIn(page, server, upn, password, mfa);
  await page.waitForURL((u) => u.pathname === mfa);
  await page.waitForLoadState('load');
}

/**
 * On the registration page (`/t/{tenant}/signin/register`): reads the key, enters the code
 * oathtool computes, continues past the recovery codes to security info. Returns the key.
 */
export async function registerAuthenticator(page) {
  await page.waitForURL(/\/signin\/register$/);
  const secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
  await page.getByRole('textbox', { name: 'Code', exact: true }).fill(await freshTotp(secret));
  await page.getByRole('button', { name: 'Verify and finish' }).click();
  await page.waitForSelector('.recovery-code');
  await page.getByRole('link', { name: 'Continue' }).click();
  await page.waitForURL(/\/me$/);
  return secret;
}

/** The anti-CSRF token of the page's forms. */
export async function csrfToken(page) {
  return page.locator('input[name="csrf"]').first().inputValue();
}

export async function createUser(server, upn, password, state, roles) {
  const body = { upn, displayName: upn.split('@')[0], password };
  if (roles) body.roles = roles;
  const r = await api(server, 'POST', '/users', body);
  if (r.status !== 201) throw new Error(`create ${upn}: ${r.status} ${JSON.stringify(r.body)}`);
  if (state) {
    const s = await api(server, 'PATCH', `/users/${upn}/authentication/requirements`, { perUserMfaState: state });
    if (s.status !== 200) throw new Error(`state ${upn}: ${s.status} ${JSON.stringify(s.body)}`);
  }
  return r.body;
}

/** Changes the tenant's MFA service settings (`PATCH /settings/mfa`); returns the new settings. */
export async function patchMfaSettings(server, patch) {
  const r = await api(server, 'PATCH', '/settings/mfa', patch);
  if (r.status !== 200) throw new Error(`settings ${JSON.stringify(patch)}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The sign-in log records of `upn`, newest first. */
export async function signInRecords(server, upn) {
  const r = await api(server, 'GET', `/signins?actor=${encodeURIComponent(upn)}&limit=500`);
  if (r.status !== 200) throw new Error(`sign-ins of ${upn}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items;
}

/** Creates many users in one all-or-nothing request (`POST /users/import`); returns the report. */
export async function importUsers(server, users) {
  const r = await api(server, 'POST', '/users/import', { users });
  if (r.status !== 200) throw new Error(`import: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}

/** Every audit record matching `filter` (`actor`, `target`, `action` prefix, ...), paging with the cursor. */
export async function auditRecords(server, filter = {}, pageSize = 100) {
  const items = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ ...filter, limit: String(pageSize) });
    if (cursor) q.set('cursor', cursor);
    const r = await api(server, 'GET', `/audit?${q}`);
    if (r.status !== 200) throw new Error(`audit: ${r.status} ${JSON.stringify(r.body)}`);
    items.push(...r.body.items);
    cursor = r.body.next;
  } while (cursor);
  return items;
}
