// Issue 5 in real headless Chromium: remembered devices ("Don't ask again"), trusted IPs (also
// through a trusted reverse proxy) and app passwords.
// - "Don't ask again": the admin allows it in Service settings; the box at the MFA prompt
//   (absent while not allowed, still ticked after a wrong code); the next sign-in in that
//   browser skips the prompt (sign-in log: rememberedDevice), for that user only; the browser
//   is listed on security info and in the admin center; the user's Forget (not someone
//   else's), the admin's restore through the API and through "Manage user settings" make the
//   browser ask again.
// - Trusted IPs: a sign-in from a trusted range skips MFA (trustedIp); X-Forwarded-For counts
//   only from a --trusted-proxy peer, so a client cannot pick its address.
// - App passwords: created on security info (shown once), listed, used for an LDAP bind with
//   ldapwhoami when this build has --ldap-listen, deleted; a session that skipped MFA must
//   confirm with a second factor before creating one; no create form while not allowed.
// Screenshots: signin-mfa-remember, security-info-remembered, admin-manage-user-settings-restore,
// app-password-new, security-info-app-passwords.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  startServer, launchBrowser, newContext, api, createUser, signIn, signInAdmin, registerAuthenticator, freshTotp,
  oathtool, csrfToken, clickAndLoad, screenshot, patchMfaSettings, signInRecords, serveHelp, TENANT,
} from '../lib/harness.mjs';

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

const PASSWORD = 'credentials e2e password';
const DEVICE_COOKIE = '__Host-tessera_device';
/** Settings that neither skip nor offer anything: each test starts from them. */
const NEUTRAL = { allowRememberDevices: false, rememberDeviceDays: 30, allowAppPasswords: false, trustedIpRanges: [] };

/** The path after `/t/{tenant}`. */
function where(page) {
  return new URL(page.url()).pathname.replace(`/t/${TENANT}`, '');
}

/**
 * Signs in with the password and waits for where it leads: `/me` (signed in), `/signin/mfa`
 * (the prompt) or `/signin/register`. Returns that path.
 */
async function signInLands(page, srv, upn, password = PASSWORD) {
  await signIn(page, srv, upn, password);
  await page.waitForURL((u) => /\/t\/[^/]+\/(me|signin\/mfa|signin\/register)$/.test(u.pathname));
  await page.waitForLoadState('load');
  return where(page);
}

/** Signs out from security info ("Sign out") or the MFA prompt ("Cancel and sign in ..."). */
async function signOut(page) {
  const button = page.getByRole('button', { name: /^(Sign out|Cancel and sign in with another account)$/ }).first();
  await clickAndLoad(page, button);
  assert.match(where(page), /^\/signin/, 'signed out');
}

/** An enforced user who registered an authenticator app in a browser (then signed out). Returns the key. */
async function enrolledUser(srv, upn) {
  await createUser(srv, upn, PASSWORD, 'enforced');
  const context = await newContext(browser);
  const page = await context.newPage();
  await signIn(page, srv, upn, PASSWORD);
  const secret = await registerAuthenticator(page);
  await signOut(page);
  await context.close();
  return secret;
}

/** At the MFA prompt: optionally ticks "Don't ask again", enters a fresh code, waits for security info. */
async function answerPrompt(page, secret, { remember = false } = {}) {
  assert.equal(where(page), '/signin/mfa');
  if (remember) await page.getByRole('checkbox', { name: /^Don't ask again for \d+ days? on this browser$/ }).check();
  await page.getByRole('textbox', { name: 'Code', exact: true }).fill(await freshTotp(secret));
  await clickAndLoad(page, page.getByRole('button', { name: 'Verify', exact: true }));
  if (where(page) !== '/me') {
    const error = await page.locator('#form-error').allTextContents();
    assert.fail(`not signed in: at ${where(page)} ${error.join(' ')}`);
  }
}

function rememberBox(page) {
  return page.getByRole('checkbox', { name: /Don't ask again/ });
}

async function deviceCookie(context) {
  return (await context.cookies()).find((c) => c.name === DEVICE_COOKIE);
}

function devicesSection(page) {
  return page.getByRole('region', { name: 'Remembered browsers' });
}

function appPasswordsSection(page) {
  return page.getByRole('region', { name: 'App passwords' });
}

/** The newest sign-in log record of `upn`. */
async function latestSignIn(srv, upn) {
  const items = await signInRecords(srv, upn);
  assert.ok(items.length > 0, `${upn} has sign-in records`);
  return items[0];
}

test("Don't ask again: the box, a sign-in without the prompt, Forget, and the admin's restore", async () => {
  await patchMfaSettings(server, NEUTRAL);
  const RITA = 'rita@contoso.com';
  const ROB = 'rob@contoso.com';
  const RHEA = 'rhea@contoso.com';
  // Registered one after the other: their next codes are all due at the same next step.
  const secrets = { [RITA]: await enrolledUser(server, RITA), [ROB]: await enrolledUser(server, ROB),
    [RHEA]: await enrolledUser(server, RHEA) };

  // Remembering not allowed: no box at the prompt.
  const context = await newContext(browser);
  const page = await context.newPage();
  assert.equal(await signInLands(page, server, RITA), '/signin/mfa');
  await page.getByRole('textbox', { name: 'Code', exact: true }).waitFor();
  assert.equal(await rememberBox(page).count(), 0, 'no "Don\'t ask again" while the tenant does not allow it');
  await signOut(page);

  // The admin allows it in the admin center's service settings (30 days).
  const adminContext = await newContext(browser);
  const admin = await adminContext.newPage();
  await signInAdmin(admin, server);
  const mfaList = new URL(admin.url()).pathname;
  await clickAndLoad(admin, admin.getByRole('navigation', { name: 'Admin center' }).getByRole('link', { name: 'Service settings' }));
  await admin.getByRole('checkbox', { name: 'Allow users to remember multi-factor authentication on devices they trust' }).check();
  await admin.getByLabel('Days before a user must sign in again with a second factor on a trusted device').fill('30');
  await clickAndLoad(admin, admin.getByRole('button', { name: 'Save', exact: true }));
  assert.match(await admin.getByRole('status').textContent(), /The service settings were saved/);
  const settings = (await api(server, 'GET', '/settings/mfa')).body;
  assert.equal(settings.allowRememberDevices, true, JSON.stringify(settings));
  assert.equal(settings.rememberDeviceDays, 30);

  // Rita ticks the box and enters her code.
  assert.equal(await signInLands(page, server, RITA), '/signin/mfa');
  const box = page.getByRole('checkbox', { name: "Don't ask again for 30 days on this browser", exact: true });
  assert.equal(await box.count(), 1, 'the box is offered');
  assert.equal(await box.isChecked(), false, 'not ticked by default');
  await box.check();
  await screenshot(page, 'signin-mfa-remember');
  await answerPrompt(page, secrets[RITA]);
  const cookie = await deviceCookie(context);
  assert.ok(cookie, 'the browser got a device cookie');
  assert.ok(cookie.httpOnly && cookie.secure && cookie.sameSite === 'Lax' && cookie.path === '/',
    `cookie attributes: ${JSON.stringify({ ...cookie, value: '...' })}`);
  const days = (cookie.expires - Date.now() / 1000) / 86400;
  assert.ok(days > 29.9 && days < 30.1, `the cookie lasts 30 days, not ${days}`);
  // Security info lists the browser.
  const rows = devicesSection(page).locator('tbody tr');
  assert.equal(await rows.count(), 1, 'one remembered browser');
  assert.match(await rows.locator('td[data-label="Browser"]').textContent(), /Chrome/);
  assert.match(await rows.locator('td[data-label="From"]').textContent(), /127\.0\.0\.1 · until /);
  assert.equal(await rows.getByRole('button', { name: /^Forget browser remembered / }).count(), 1);
  await screenshot(page, 'security-info-remembered');
  const mfaSignIn = await latestSignIn(server, RITA);
  assert.equal(mfaSignIn.result, 'success');
  assert.equal(mfaSignIn.mfaMethod, 'totp');
  assert.equal(mfaSignIn.mfaSkippedBy ?? null, null);

  // Sign out, sign in again with the password only: no prompt.
  await signOut(page);
  assert.equal(await signInLands(page, server, RITA), '/me', 'the remembered browser is not asked for a code');
  let rec = await latestSignIn(server, RITA);
  assert.equal(rec.result, 'success', JSON.stringify(rec));
  assert.equal(rec.client, 'browser');
  assert.equal(rec.credential, 'password');
  assert.equal(rec.mfaRequiredBy, 'perUserState');
  assert.equal(rec.mfaSkippedBy, 'rememberedDevice', JSON.stringify(rec));
  assert.equal(rec.mfaMethod ?? null, null, 'no second factor was given');
  assert.notEqual(await devicesSection(page).locator('td[data-label="Last used"]').textContent(), 'Not yet');
  await signOut(page);

  // The browser is remembered for Rita only: Rob, in the same browser, is asked.
  assert.equal(await signInLands(page, server, ROB), '/signin/mfa', "another user's remembered browser does not count");
  await signOut(page);

  // Another browser (no device cookie) is still asked.
  const other = await newContext(browser);
  const otherPage = await other.newPage();
  assert.equal(await signInLands(otherPage, server, RITA), '/signin/mfa', 'the remembering is per browser');
  await other.close();

  // The admin restores MFA on Rita's remembered devices through the API: she is asked again.
  const restore = await api(server, 'POST', '/mfa/bulk', { action: 'revokeRememberedDevices', users: [RITA] });
  assert.equal(restore.status, 200, JSON.stringify(restore.body));
  assert.equal(await signInLands(page, server, RITA), '/signin/mfa', 'asked for the code again after the restore');
  assert.equal(await rememberBox(page).count(), 1, 'and may tick the box again');
  rec = await latestSignIn(server, RITA);
  assert.equal(rec.result, 'interrupted', JSON.stringify(rec));
  assert.equal(rec.failureReason, 'mfa_required');
  assert.equal(rec.mfaSkippedBy ?? null, null);
  await signOut(page);
  await context.close();

  // Rob ticks the box but mistypes the code: the box stays ticked; then the right code.
  const robContext = await newContext(browser);
  const robPage = await robContext.newPage();
  assert.equal(await signInLands(robPage, server, ROB), '/signin/mfa');
  await rememberBox(robPage).check();
  const valid = oathtool(secrets[ROB]);
  await robPage.getByRole('textbox', { name: 'Code', exact: true }).fill(String((Number(valid) + 1) % 1e6).padStart(6, '0'));
  await clickAndLoad(robPage, robPage.getByRole('button', { name: 'Verify', exact: true }));
  assert.match(await robPage.locator('#form-error').textContent(), /code didn't work/i);
  assert.equal(await rememberBox(robPage).isChecked(), true, 'the box is still ticked after a wrong code');
  await answerPrompt(robPage, secrets[ROB]);
  assert.ok(await deviceCookie(robContext), 'remembered');
  const robDevice = devicesSection(robPage).locator('tbody tr');
  assert.equal(await robDevice.count(), 1);
  const robForget = await robDevice.locator('form').getAttribute('action');

  // Rhea remembers her browser.
  const rheaContext = await newContext(browser);
  const rheaPage = await rheaContext.newPage();
  assert.equal(await signInLands(rheaPage, server, RHEA), '/signin/mfa');
  await answerPrompt(rheaPage, secrets[RHEA], { remember: true });
  // She cannot forget Rob's browser by posting its id with her own session.
  const status = await rheaPage.evaluate(async ({ action, csrf }) => {
    const r = await fetch(action, { method: 'POST', body: new URLSearchParams({ csrf }) });
    return r.status;
  }, { action: robForget, csrf: await csrfToken(rheaPage) });
  assert.equal(status, 404, "another user's remembered browser is not found");
  await signOut(rheaPage);
  assert.equal(await signInLands(rheaPage, server, RHEA), '/me', 'remembered');
  await signOut(rheaPage);

  // Rob forgets his browser himself on security info: it asks again.
  await robPage.reload();
  assert.equal(await robDevice.count(), 1, "Rob's browser is still remembered");
  await clickAndLoad(robPage, robDevice.getByRole('button', { name: /^Forget browser remembered / }));
  assert.equal(where(robPage), '/me');
  assert.match(await robPage.getByRole('status').first().textContent(), /That browser will ask for a second factor again/);
  assert.equal(await robDevice.count(), 0, 'no remembered browser is left');
  await signOut(robPage);
  assert.equal(await signInLands(robPage, server, ROB), '/signin/mfa', 'the forgotten browser asks again');
  await robContext.close();

  // The admin center's "Manage user settings" restores MFA on Rhea's remembered browser.
  await admin.goto(new URL(mfaList, server.base).href);
  // Her page in the admin center lists the browser.
  const openRhea = () => clickAndLoad(admin, admin.locator('#users').getByRole('link', { name: 'rhea', exact: true }));
  await openRhea();
  assert.equal(await admin.locator('#remembered-devices tbody tr').count(), 1, 'the admin sees the remembered browser');
  assert.match(await admin.getByRole('region', { name: 'Remembered devices' }).textContent(), /has not been restored/);
  await admin.goto(new URL(mfaList, server.base).href);
  await admin.getByRole('checkbox', { name: 'Select rhea', exact: true }).check();
  let r = await clickAndLoad(admin,
    admin.getByRole('group', { name: 'Quick steps' }).getByRole('button', { name: 'Manage user settings', exact: true }));
  assert.equal(r.status(), 200);
  const restoreBox = admin.getByRole('checkbox', { name: 'Restore multi-factor authentication on all remembered devices' });
  await restoreBox.check();
  await screenshot(admin, 'admin-manage-user-settings-restore');
  r = await clickAndLoad(admin, admin.getByRole('button', { name: 'save', exact: true }));
  assert.equal(r.status(), 200);
  assert.equal((await admin.locator('#result-summary').textContent()).trim(), 'Done for 1 user: 1 changed.');
  await clickAndLoad(admin, admin.getByRole('link', { name: 'close', exact: true }));
  await openRhea();
  assert.equal(await admin.locator('#remembered-devices').count(), 0, 'no browser is remembered any more');
  assert.match(await admin.getByRole('region', { name: 'Remembered devices' }).textContent(),
    /Devices remembered before .+ ask for multi-factor authentication again/);
  await adminContext.close();
  assert.equal(await signInLands(rheaPage, server, RHEA), '/signin/mfa', 'asked again after Manage user settings');
  await rheaContext.close();
});

test('trusted IPs skip MFA; X-Forwarded-For counts only from a trusted proxy', async () => {
  await patchMfaSettings(server, NEUTRAL);
  const TINA = 'tina@contoso.com';
  await enrolledUser(server, TINA);

  // The browser reaches the server from 127.0.0.1.
  await patchMfaSettings(server, { trustedIpRanges: ['127.0.0.0/8', '::1/128'] });
  let context = await newContext(browser);
  let page = await context.newPage();
  assert.equal(await signInLands(page, server, TINA), '/me', 'no prompt from a trusted IP');
  let rec = await latestSignIn(server, TINA);
  assert.equal(rec.result, 'success', JSON.stringify(rec));
  assert.equal(rec.mfaSkippedBy, 'trustedIp', JSON.stringify(rec));
  assert.equal(rec.sourceIp, '127.0.0.1');
  assert.equal(await devicesSection(page).count(), 0, 'no "Remembered browsers" while remembering is not allowed');
  await signOut(page);

  await patchMfaSettings(server, { trustedIpRanges: ['10.0.0.0/8'] });
  assert.equal(await signInLands(page, server, TINA), '/signin/mfa', 'prompted from outside the trusted range');
  await signOut(page);
  await context.close();

  // Without --trusted-proxy the header is the client's own word: ignored.
  await patchMfaSettings(server, { trustedIpRanges: ['203.0.113.0/24'] });
  context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': '203.0.113.9' } });
  page = await context.newPage();
  assert.equal(await signInLands(page, server, TINA), '/signin/mfa', 'a client cannot pick its address');
  rec = await latestSignIn(server, TINA);
  assert.equal(rec.sourceIp, '127.0.0.1', JSON.stringify(rec));
  assert.equal(rec.mfaSkippedBy ?? null, null);
  await context.close();

  // Behind a trusted proxy (this test plays it: the peer is 127.0.0.1).
  const proxied = await startServer({ args: ['--trusted-proxy', '127.0.0.1/32,::1/128'] });
  try {
    const PAT = 'pat@contoso.com';
    await enrolledUser(proxied, PAT);
    await patchMfaSettings(proxied, { trustedIpRanges: ['203.0.113.0/24'] });
    const from = async (forwardedFor) => {
      const c = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': forwardedFor } });
      const p = await c.newPage();
      const landed = await signInLands(p, proxied, PAT);
      return { c, p, landed, rec: await latestSignIn(proxied, PAT) };
    };
    let s = await from('203.0.113.9');
    assert.equal(s.landed, '/me', 'skipped for a client in the trusted range');
    assert.equal(s.rec.result, 'success', JSON.stringify(s.rec));
    assert.equal(s.rec.mfaSkippedBy, 'trustedIp');
    assert.equal(s.rec.sourceIp, '203.0.113.9', 'the forwarded address is the source');
    assert.match(await s.p.getByRole('region', { name: "Where you're signed in" }).textContent(), /203\.0\.113\.9/);
    await s.c.close();

    s = await from('198.51.100.9');
    assert.equal(s.landed, '/signin/mfa', 'prompted for a client outside it');
    assert.equal(s.rec.sourceIp, '198.51.100.9');
    assert.equal(s.rec.mfaSkippedBy ?? null, null);
    await s.c.close();

    // A client that sends its own header through the proxy: the proxy appends the real address.
    s = await from('203.0.113.9, 198.51.100.9');
    assert.equal(s.landed, '/signin/mfa', 'the rightmost address not of a trusted proxy counts');
    assert.equal(s.rec.sourceIp, '198.51.100.9');
    await s.c.close();
  } finally {
    proxied.stop();
  }
  await patchMfaSettings(server, NEUTRAL);
});

/** `tessera serve --ldap-listen` in this build, and `ldapwhoami` on this machine. */
function ldapAvailable() {
  if (!/--ldap-listen/.test(serveHelp())) return 'this build of tessera serve has no --ldap-listen';
  if (spawnSync('ldapwhoami', ['-VV'], { stdio: 'ignore' }).error) return 'ldapwhoami is not installed';
  return null;
}

/** `ldapwhoami` simple bind; returns its exit status and output. */
function ldapWhoami(port, dn, password) {
  const r = spawnSync('ldapwhoami', ['-x', '-H', `ldap://127.0.0.1:${port}`, '-D', dn, '-w', password],
    { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

test('app passwords: create on security info (shown once), use, delete; no form while not allowed', async () => {
  const noLdap = ldapAvailable();
  let ldapPort = null;
  let srv = server;
  if (noLdap) {
    console.log(`# app passwords: LDAP bind not tested (${noLdap})`);
  } else {
    srv = await startServer({ args: ['--ldap-listen', '127.0.0.1:0'] });
    ldapPort = await srv.port('ldap');
  }
  try {
    // Remembering is allowed too, so that security info shows both lists.
    await patchMfaSettings(srv, { ...NEUTRAL, allowAppPasswords: true, allowRememberDevices: true });
    const ANN = 'ann@contoso.com';
    const secret = await enrolledUser(srv, ANN);
    const context = await newContext(browser);
    const page = await context.newPage();
    assert.equal(await signInLands(page, srv, ANN), '/signin/mfa');
    await answerPrompt(page, secret, { remember: true });

    // Create "Mail". Right after the TOTP sign-in no step-up should be needed; answer it if asked.
    const section = appPasswordsSection(page);
    await section.getByLabel('Name of the new app password').fill('Mail');
    await clickAndLoad(page, section.getByRole('button', { name: 'Create app password' }));
    if (where(page) === '/signin/mfa') {
      console.log('# app passwords: asked to confirm with a second factor right after signing in with one');
      await page.getByRole('textbox', { name: 'Code', exact: true }).fill(await freshTotp(secret));
      await clickAndLoad(page, page.getByRole('button', { name: 'Verify', exact: true }));
      assert.equal(where(page), '/me');
      await appPasswordsSection(page).getByLabel('Name of the new app password').fill('Mail');
      await clickAndLoad(page, appPasswordsSection(page).getByRole('button', { name: 'Create app password' }));
    }
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your new app password');
    assert.match(await page.locator('.lead').textContent(), /“Mail”/);
    const appPassword = (await page.locator('code#app-password').textContent()).trim();
    assert.match(appPassword, /^[a-z]{4}( [a-z]{4}){4}$/, 'five groups of four lower-case letters');
    await screenshot(page, 'app-password-new');
    await clickAndLoad(page, page.getByRole('link', { name: 'Done' }));
    assert.equal(where(page), '/me');
    assert.equal(await page.locator('code#app-password').count(), 0, 'the secret is shown only once');
    const row = appPasswordsSection(page).locator('tbody tr', { hasText: 'Mail' });
    assert.equal(await row.count(), 1, 'listed');
    assert.equal((await row.locator('td[data-label="Last used"]').textContent()).trim(), 'Never');
    assert.ok(!(await page.content()).includes(appPassword), 'security info does not show the secret');
    assert.equal(await devicesSection(page).locator('tbody tr').count(), 1, 'and the remembered browser');
    await screenshot(page, 'security-info-app-passwords');
    const created = await api(srv, 'GET', `/audit?target=${encodeURIComponent(ANN)}&action=user.appPassword`);
    assert.ok(created.body.items.some((i) => i.action === 'user.appPassword.create'), JSON.stringify(created.body));

    if (ldapPort) {
      let bind = ldapWhoami(ldapPort, ANN, appPassword);
      assert.equal(bind.status, 0, `bind with the app password: ${bind.out}`);
      bind = ldapWhoami(ldapPort, ANN, appPassword.replace(/ /g, '-').toUpperCase());
      assert.equal(bind.status, 0, `dashes and capitals do not matter: ${bind.out}`);
      bind = ldapWhoami(ldapPort, ANN, PASSWORD);
      assert.equal(bind.status, 49, `an enforced user's password does not bind: ${bind.out}`);
      const legacy = (await signInRecords(srv, ANN)).filter((s) => s.client === 'legacy');
      assert.ok(legacy.some((s) => s.result === 'success' && s.credential === 'appPassword'), JSON.stringify(legacy));
      assert.equal(legacy[0].credential, 'password');
      assert.equal(legacy[0].result, 'failure');
      assert.equal(legacy[0].failureReason, 'app_password_required', JSON.stringify(legacy[0]));
      await page.reload();
      assert.notEqual((await row.locator('td[data-label="Last used"]').textContent()).trim(), 'Never');
    }

    // Delete it.
    await clickAndLoad(page, row.getByRole('button', { name: 'Delete app password Mail', exact: true }));
    assert.equal(where(page), '/me');
    assert.match(await page.getByRole('status').first().textContent(), /The app password was deleted/);
    assert.equal(await appPasswordsSection(page).locator('tbody tr', { hasText: 'Mail' }).count(), 0, 'gone');
    if (ldapPort) {
      const bind = ldapWhoami(ldapPort, ANN, appPassword);
      assert.equal(bind.status, 49, `a deleted app password does not bind: ${bind.out}`);
    }

    // Signed in by the remembered browser (no second factor in this session): creating one
    // needs a fresh second factor first ("Confirm it's you"), which offers no "Don't ask again".
    await signOut(page);
    assert.equal(await signInLands(page, srv, ANN), '/me', 'the remembered browser skips the prompt');
    await appPasswordsSection(page).getByLabel('Name of the new app password').fill('Printer');
    await clickAndLoad(page, appPasswordsSection(page).getByRole('button', { name: 'Create app password' }));
    assert.equal(where(page), '/signin/mfa', 'step-up before creating an app password');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), "Confirm it's you");
    assert.equal(await rememberBox(page).count(), 0, 'no "Don\'t ask again" at a step-up');
    assert.equal(await api(srv, 'GET', `/audit?target=${encodeURIComponent(ANN)}&action=user.appPassword.create`)
      .then((r) => r.body.items.length), 1, 'nothing was created before the step-up');
    await page.getByRole('textbox', { name: 'Code', exact: true }).fill(await freshTotp(secret));
    await clickAndLoad(page, page.getByRole('button', { name: 'Verify', exact: true }));
    assert.equal(where(page), '/me', 'back on security info');
    await appPasswordsSection(page).getByLabel('Name of the new app password').fill('Printer');
    await clickAndLoad(page, appPasswordsSection(page).getByRole('button', { name: 'Create app password' }));
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your new app password');
    const printerPassword = (await page.locator('code#app-password').textContent()).trim();
    await clickAndLoad(page, page.getByRole('link', { name: 'Done' }));
    assert.equal(await appPasswordsSection(page).locator('tbody tr', { hasText: 'Printer' }).count(), 1);
    if (ldapPort) assert.equal(ldapWhoami(ldapPort, ANN, printerPassword).status, 0, 'Printer binds');

    // Not allowed: no create form.
    await patchMfaSettings(srv, { allowAppPasswords: false });
    await page.reload();
    const off = appPasswordsSection(page);
    assert.equal(await off.getByRole('button', { name: 'Create app password' }).count(), 0);
    assert.equal(await off.getByLabel('Name of the new app password').count(), 0);
    assert.match(await off.textContent(), /Your organisation does not allow app passwords: the ones above do not work/);
    if (ldapPort) {
      const bind = ldapWhoami(ldapPort, ANN, printerPassword);
      assert.equal(bind.status, 49, `app passwords do not bind while not allowed: ${bind.out}`);
    }
    await context.close();
  } finally {
    if (srv !== server) srv.stop();
  }
});
