// Issue: sign-in that enforces per-user MFA, end to end in real headless Chromium.
// An admin enables a user -> the user signs in, registers by reading the key from the page and
// computing the code with oathtool -> the API shows "enforced" -> sign out -> sign in again
// with a fresh code -> the same code a second time is refused. A reset user is sent to
// registration again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, api, oathtool, nextTotpStep, screenshot, createUser, signIn } from '../lib/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const PASSWORD = 'alice e2e password';

async function sessionCookie(context) {
  return (await context.cookies()).find((c) => c.name === '__Host-tessera_session');
}

test('enable -> register with oathtool -> enforced -> sign in with a fresh code -> replay refused', async () => {
  await createUser(server, 'alice@contoso.com', PASSWORD, 'enabled');
  const context = await browser.newContext();
  const page = await context.newPage();

  await signIn(page, server, 'alice@contoso.com', PASSWORD);
  await page.waitForURL(/\/signin\/register$/);
  await screenshot(page, 'signin-register');
  const secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 key is shown in text');
  assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code is an inline SVG');
  const pending = await sessionCookie(context);
  assert.ok(pending.httpOnly && pending.secure && pending.sameSite === 'Lax', 'cookie attributes');

  await page.getByRole('textbox', { name: 'Code', exact: true }).fill(oathtool(secret));
  await page.getByRole('button', { name: 'Verify and finish' }).click();
  await page.waitForSelector('.recovery-code');
  assert.equal(await page.locator('.recovery-code').count(), 10, 'ten recovery codes shown once');
  await screenshot(page, 'signin-recovery-codes');
  const signedIn = await sessionCookie(context);
  assert.notEqual(signedIn.value, pending.value, 'the session id changes at sign-in');
  await page.getByRole('link', { name: 'Continue' }).click();
  await page.waitForURL(/\/me$/);
  await screenshot(page, 'security-info');

  const state = await api(server, 'GET', '/users/alice@contoso.com/authentication/requirements');
  assert.deepEqual(state.body, { perUserMfaState: 'enforced' }, 'registering made the enabled user enforced');

  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(/\/signin/);

  await nextTotpStep();
  const fresh = oathtool(secret);
  await signIn(page, server, 'alice@contoso.com', PASSWORD);
  await page.waitForURL(/\/signin\/mfa/);
  await screenshot(page, 'signin-mfa');
  await page.getByRole('textbox', { name: 'Code', exact: true }).fill(fresh);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(/\/me$/);

  // The same code a second time, in a new sign-in, is refused.
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(/\/signin/);
  await signIn(page, server, 'alice@contoso.com', PASSWORD);
  await page.waitForURL(/\/signin\/mfa/);
  await page.getByRole('textbox', { name: 'Code', exact: true }).fill(fresh);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForSelector('#form-error');
  assert.match(await page.locator('#form-error').textContent(), /code didn't work/i);
  assert.match(page.url(), /\/signin\/mfa/, 'still at the MFA prompt');
  await screenshot(page, 'signin-mfa-replay-refused');

  const log = await api(server, 'GET', '/signins?actor=alice@contoso.com');
  const reasons = log.body.items.map((s) => `${s.result}:${s.failureReason ?? ''}:${s.mfaMethod ?? ''}`);
  assert.ok(reasons.includes('failure:invalid_otp:'), `the replay is in the sign-in log: ${reasons}`);
  assert.ok(reasons.includes('success::totp'), `the TOTP sign-in is in the sign-in log: ${reasons}`);
  await context.close();
});

test('a reset user is sent to registration again', async () => {
  await createUser(server, 'bob@contoso.com', PASSWORD, 'enforced');
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server, 'bob@contoso.com', PASSWORD);
  await page.waitForURL(/\/signin\/register$/);
  const secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
  await page.getByRole('textbox', { name: 'Code', exact: true }).fill(oathtool(secret));
  await page.getByRole('button', { name: 'Verify and finish' }).click();
  await page.waitForSelector('.recovery-code');
  await page.getByRole('link', { name: 'Continue' }).click();
  await page.waitForURL(/\/me$/);
  await page.getByRole('button', { name: 'Sign out' }).first().click();

  const reset = await api(server, 'POST', '/mfa/bulk', { action: 'requireReregistration', users: ['bob@contoso.com'] });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));

  await signIn(page, server, 'bob@contoso.com', PASSWORD);
  await page.waitForURL(/\/signin\/register$/);
  const again = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
  assert.notEqual(again, secret, 'a new key is offered');
  await context.close();
});

test('wrong passwords read the same for known and unknown users', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server, 'alice@contoso.com', 'not the password');
  const known = await page.locator('#form-error').textContent();
  await signIn(page, server, 'nobody@contoso.com', 'not the password');
  const unknown = await page.locator('#form-error').textContent();
  assert.equal(known, unknown);
  await screenshot(page, 'signin-wrong-password');
  await context.close();
});
