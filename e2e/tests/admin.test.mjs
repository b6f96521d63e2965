// The admin center in real headless Chromium. The Global Administrator (from `tessera init`,
// state disabled: password only) signs in at /t/contoso/signin?return=/admin/contoso/mfa, then:
// - does each procedure of the seed documents as written (Enable; Enforce; reset with "Manage
//   user settings" > "Require selected users to provide contact methods again"; Disable), each
//   checked through the REST API and the audit log;
// - a Helpdesk Administrator sees no Enable/Enforce/Disable, and a forged enforce is refused;
// - Enforce on 200 users selected over four pages of the list;
// - service settings validation, the logs and their CSV export, the registration report;
// screenshots of every page (admin-*.png) at 1280x800, and the MFA page at 390x844.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newContext, api, createUser, importUsers, auditRecords, signIn, signInAdmin,
  registerAuthenticator, clickAndLoad, csrfToken, screenshot, ADMIN, TENANT, PHONE, DESKTOP,
} from '../lib/harness.mjs';

let server;
let browser;
let adminContext;
/** The Global Administrator's page, signed in once in `before`. */
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  adminContext = await newContext(browser);
  page = await adminContext.newPage();
  await signInAdmin(page, server);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const MFA_PATH = `/admin/${TENANT}/mfa`;

function nav(p = page) {
  return p.getByRole('navigation', { name: 'Admin center' });
}

/** "From the top menu, select Multi-factor authentication." */
async function openMfaPage(p = page) {
  const r = await clickAndLoad(p, nav(p).getByRole('link', { name: 'Multi-factor authentication', exact: true }));
  assert.equal(r.status(), 200);
  assert.equal(new URL(p.url()).pathname, MFA_PATH);
}

/** A button under "Quick steps". */
function quickStep(name, p = page) {
  return p.getByRole('group', { name: 'Quick steps' }).getByRole('button', { name, exact: true });
}

/** The check box next to the user (its aria-label names the display name). */
function userBox(displayName, p = page) {
  return p.getByRole('checkbox', { name: `Select ${displayName}`, exact: true });
}

/** The MFA status shown in the list for a user. */
async function listedState(displayName) {
  const row = page.locator('#users tbody tr', { has: userBox(displayName) });
  return (await row.locator('.mfa-status').textContent()).trim();
}

async function selectionCount(p = page) {
  return (await p.locator('#selection-count').textContent()).trim();
}

async function apiState(upn) {
  const r = await api(server, 'GET', `/users/${upn}/authentication/requirements`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.perUserMfaState;
}

/** The audit records of `action` on `upn`: exactly one, by the Global Administrator. */
async function theAuditRecord(upn, action) {
  const items = await auditRecords(server, { target: upn, action });
  const exact = items.filter((i) => i.action === action);
  assert.equal(exact.length, 1, `one ${action} record for ${upn}: ${JSON.stringify(items)}`);
  const rec = exact[0];
  assert.equal(rec.actorUpn, ADMIN, 'the admin is the actor');
  assert.equal(rec.targetUpn, upn);
  return rec;
}

/** Steps 3-7 of the seeds' Enable / Enforce / Disable procedures on one user. */
async function quickStepProcedure({ user, step, confirm, summary, result, shots, listShots = [] }) {
  // 3. From the top menu, select Multi-factor authentication.
  await openMfaPage();
  if (listShots[0]) await screenshot(page, listShots[0]);
  // 4. Select the check box next to the user.
  await userBox(user).check();
  assert.equal(await selectionCount(), '1 selected');
  if (listShots[1]) await screenshot(page, listShots[1]);
  // 5. Under quick steps, select <step>.
  let r = await clickAndLoad(page, quickStep(step));
  assert.equal(r.status(), 200);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `${step} multi-factor authentication`);
  assert.equal(await page.locator('#confirm-summary').textContent(), summary);
  await screenshot(page, shots[0]);
  // 6. When prompted, select <confirm> ...
  r = await clickAndLoad(page, page.getByRole('button', { name: confirm, exact: true }));
  assert.equal(r.status(), 200);
  assert.equal((await page.locator('#result-summary').textContent()).trim(), 'Done for 1 user: 1 changed.');
  const row = page.locator('#results tbody tr');
  assert.equal(await row.count(), 1);
  assert.equal((await row.locator('.result').textContent()).trim(), 'Changed');
  assert.match(await row.textContent(), new RegExp(result));
  await screenshot(page, shots[1]);
  // ... then close: back to the list.
  await clickAndLoad(page, page.getByRole('link', { name: 'close', exact: true }));
  assert.equal(new URL(page.url()).pathname, MFA_PATH);
}

test('the seed procedures as written: Enable, Enforce, reset (Manage user settings), Disable', async () => {
  const AMY = 'amy@contoso.com';
  const AMY_PASSWORD = 'amy e2e password';
  await createUser(server, AMY, AMY_PASSWORD);
  assert.equal(await apiState(AMY), 'disabled');

  // "Enable multi-factor authentication for a user".
  await quickStepProcedure({
    user: 'amy', step: 'Enable', confirm: 'enable multi-factor auth',
    summary: 'Enable multi-factor authentication for 1 user: 1 will change from disabled to enabled.',
    result: 'Disabled → Enabled', shots: ['admin-confirm-enable', 'admin-result-enable'],
    listShots: ['admin-mfa-list', 'admin-mfa-selection'],
  });
  assert.equal(await listedState('amy'), 'Enabled');
  assert.equal(await apiState(AMY), 'enabled');
  let rec = await theAuditRecord(AMY, 'user.mfa.enable');
  assert.deepEqual([rec.before, rec.after], ['disabled', 'enabled']);

  // "Require a user to use multi-factor authentication" (Enforce).
  await quickStepProcedure({
    user: 'amy', step: 'Enforce', confirm: 'enforce multi-factor auth',
    summary: 'Enforce multi-factor authentication for 1 user: 1 will change from enabled to enforced.',
    result: 'Enabled → Enforced', shots: ['admin-confirm-enforce', 'admin-result-enforce'],
  });
  assert.equal(await listedState('amy'), 'Enforced');
  assert.equal(await apiState(AMY), 'enforced');
  rec = await theAuditRecord(AMY, 'user.mfa.enforce');
  assert.deepEqual([rec.before, rec.after], ['enabled', 'enforced']);

  // Amy signs in (her own browser) and registers an authenticator app.
  const amyContext = await newContext(browser);
  const amyPage = await amyContext.newPage();
  await signIn(amyPage, server, AMY, AMY_PASSWORD);
  await registerAuthenticator(amyPage);
  await amyContext.close();
  const registered = await api(server, 'GET', `/users/${AMY}`);
  assert.ok(registered.body.methods.includes('totp'), JSON.stringify(registered.body));

  // Her page in the admin center: the method, the history of her MFA status.
  await openMfaPage();
  assert.match(await page.locator('#users tbody tr', { has: userBox('amy') }).locator('.methods').textContent(),
    /Authenticator app/);
  await clickAndLoad(page, page.locator('#users').getByRole('link', { name: 'amy', exact: true }));
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'amy');
  assert.match(await page.locator('#methods').textContent(), /Authenticator app/);
  const history = await page.locator('#mfa-history').textContent();
  assert.match(history, /user\.mfa\.enable/);
  assert.match(history, /user\.mfa\.enforce/);
  await screenshot(page, 'admin-user');

  // "Reset existing multi-factor authentication configuration for a user".
  await openMfaPage();
  await userBox('amy').check();
  let r = await clickAndLoad(page, quickStep('Manage user settings'));
  assert.equal(r.status(), 200);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Manage user settings');
  const reregister = page.getByRole('checkbox', { name: 'Require selected users to provide contact methods again' });
  assert.match(await page.locator('#opt-require_reregistration-hint').textContent(),
    /^1 of 1 selected user has registered sign-in methods/);
  await screenshot(page, 'admin-manage-user-settings');
  await reregister.check();
  r = await clickAndLoad(page, page.getByRole('button', { name: 'save', exact: true }));
  assert.equal(r.status(), 200);
  assert.equal((await page.locator('#result-summary').textContent()).trim(), 'Done for 1 user: 1 changed.');
  assert.match(await page.locator('#results tbody tr').textContent(), /methods \d+ → 0/);
  await screenshot(page, 'admin-result-manage-user-settings');
  await clickAndLoad(page, page.getByRole('link', { name: 'close', exact: true }));
  assert.equal(new URL(page.url()).pathname, MFA_PATH);
  const reset = await api(server, 'GET', `/users/${AMY}`);
  assert.deepEqual(reset.body.methods, [], 'no registered methods are left');
  assert.equal(reset.body.perUserMfaState, 'enforced', 'the reset keeps the state');
  rec = await theAuditRecord(AMY, 'user.mfa.manageUserSettings');
  assert.ok(rec.before.methods > 0, JSON.stringify(rec));
  assert.equal(rec.after.methods, 0, JSON.stringify(rec));
  // Her next sign-in lands on registration.
  const nextContext = await newContext(browser);
  const nextPage = await nextContext.newPage();
  await signIn(nextPage, server, AMY, AMY_PASSWORD);
  await nextPage.waitForURL(/\/signin\/register$/);
  await nextContext.close();

  // "Disable multi-factor authentication for a user".
  await quickStepProcedure({
    user: 'amy', step: 'Disable', confirm: 'yes',
    summary: 'Disable multi-factor authentication for 1 user: 1 will change from enforced to disabled.',
    result: 'Enforced → Disabled', shots: ['admin-confirm-disable', 'admin-result-disable'],
  });
  assert.equal(await listedState('amy'), 'Disabled');
  assert.equal(await apiState(AMY), 'disabled');
  rec = await theAuditRecord(AMY, 'user.mfa.disable');
  assert.deepEqual([rec.before, rec.after], ['enforced', 'disabled']);
});

test('a Helpdesk Administrator has no Enable/Enforce/Disable, and a forged enforce is refused', async () => {
  const HELEN = 'helen.helpdesk@contoso.com';
  const HELEN_PASSWORD = 'helen e2e password';
  await createUser(server, HELEN, HELEN_PASSWORD, undefined, ['helpdeskAdministrator']);
  const hank = await createUser(server, 'hank@contoso.com', 'hank e2e password');

  const context = await newContext(browser);
  const hp = await context.newPage();
  await signInAdmin(hp, server, HELEN, HELEN_PASSWORD);
  for (const step of ['Enable', 'Enforce', 'Disable']) {
    assert.equal(await hp.getByRole('button', { name: step, exact: true }).count(), 0, `no ${step} button`);
  }
  assert.equal(await quickStep('Manage user settings', hp).count(), 1, 'Helpdesk may manage user settings');
  assert.equal(await nav(hp).getByRole('link', { name: 'Audit log' }).count(), 0, 'Helpdesk reads no logs');
  await screenshot(hp, 'admin-helpdesk-mfa');

  const csrf = await csrfToken(hp);
  // The token is good: the page's own form posts with it are accepted.
  const ok = await hp.request.post(`${server.base}${MFA_PATH}`, { form: { csrf, op: 'update' } });
  assert.equal(ok.status(), 200);
  // The enforce confirmation's form, forged: its dry run and its button.
  const form = { csrf, step: 'enforce', selected: hank.id, status: '', search: '', cur_status: '', cur_search: '' };
  for (const path of ['/quick-step', '/apply']) {
    const forged = await hp.request.post(`${server.base}${MFA_PATH}${path}`, { form, maxRedirects: 0 });
    assert.equal(forged.status(), 403, `${path} is refused`);
    const text = await forged.text();
    assert.match(text, /Not allowed/);
    assert.doesNotMatch(text, /The form expired/, 'refused for the role, not for the token');
  }
  assert.equal(await apiState('hank@contoso.com'), 'disabled', 'the state is unchanged');
  assert.deepEqual(await auditRecords(server, { target: 'hank@contoso.com', action: 'user.mfa' }), []);
  await context.close();
});

test('Enforce for 200 users selected over four pages', async () => {
  // 210 users: four full pages of 50, and 10 more that stay out of the selection.
  const upns = Array.from({ length: 210 }, (_, i) => `bulk${String(i).padStart(3, '0')}@contoso.com`);
  const imported = await importUsers(server, upns.map((upn) => ({ upn, displayName: upn.split('@')[0] })));
  assert.equal(imported.summary.changed, 210);

  await openMfaPage();
  await page.getByLabel('Search').fill('bulk');
  await clickAndLoad(page, page.getByRole('button', { name: 'Apply', exact: true }));
  for (let n = 1; n <= 4; n += 1) {
    assert.equal((await page.locator('.page-number').textContent()).trim(), `Page ${n}`);
    const upnsShown = await page.locator('#users td.upn').allTextContents();
    assert.deepEqual(upnsShown, upns.slice((n - 1) * 50, n * 50), `page ${n} lists the next 50 users`);
    await page.getByRole('button', { name: 'Select all on this page' }).click();
    await page.locator('#selection-count', { hasText: new RegExp(`^${n * 50} selected$`) }).waitFor();
    assert.equal(await page.locator('#users input[name="select"]:checked').count(), 50);
    if (n < 4) await clickAndLoad(page, page.getByRole('button', { name: 'Next page' }));
  }
  assert.equal(await selectionCount(), '200 selected');
  await screenshot(page, 'admin-mfa-selection-200', { fullPage: false });

  let r = await clickAndLoad(page, quickStep('Enforce'));
  assert.equal(r.status(), 200);
  assert.equal(await page.locator('#confirm-summary').textContent(),
    'Enforce multi-factor authentication for 200 users: 200 will change from disabled to enforced.');
  assert.equal(await page.locator('#results tbody tr').count(), 200);
  await screenshot(page, 'admin-confirm-enforce-200', { fullPage: false });
  r = await clickAndLoad(page, page.getByRole('button', { name: 'enforce multi-factor auth', exact: true }));
  assert.equal(r.status(), 200);
  assert.equal((await page.locator('#result-summary').textContent()).trim(), 'Done for 200 users: 200 changed.');
  assert.equal(await page.locator('#results tbody tr.result-changed').count(), 200);
  await screenshot(page, 'admin-result-enforce-200', { fullPage: false });
  await clickAndLoad(page, page.getByRole('link', { name: 'close', exact: true }));
  const back = new URL(page.url());
  assert.deepEqual([back.pathname, back.searchParams.get('search')], [MFA_PATH, 'bulk'], 'close keeps the search');

  const enforced = await api(server, 'GET', '/users?mfaState=enforced&search=bulk&limit=500');
  assert.equal(enforced.status, 200);
  assert.deepEqual(enforced.body.items.map((u) => u.upn), upns.slice(0, 200));
  const disabled = await api(server, 'GET', '/users?mfaState=disabled&search=bulk&limit=500');
  assert.deepEqual(disabled.body.items.map((u) => u.upn), upns.slice(200), 'the unselected users are unchanged');

  const records = (await auditRecords(server, { action: 'user.mfa.enforce', actor: ADMIN }, 75))
    .filter((a) => a.targetUpn.startsWith('bulk'));
  assert.equal(records.length, 200, 'one user.mfa.enforce record per user');
  assert.deepEqual([...new Set(records.map((a) => a.targetUpn))].sort(), upns.slice(0, 200));
  assert.ok(records.every((a) => a.before === 'disabled' && a.after === 'enforced' && a.actorUpn === ADMIN));
  assert.equal(new Set(records.map((a) => a.correlationId)).size, 1, 'one request, one correlation id');
});

test('service settings: a bad value shows the core message next to its field and saves nothing', async () => {
  const before = await api(server, 'GET', '/settings/mfa');
  await clickAndLoad(page, nav().getByRole('link', { name: 'Service settings' }));
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Service settings');
  await screenshot(page, 'admin-settings');

  const badRange = '10.0.0.0/33';
  const core = await api(server, 'PATCH', '/settings/mfa', { trustedIpRanges: [badRange] });
  assert.equal(core.status, 400);
  assert.equal(core.body.error, 'invalid_setting');
  // Change a good field too: nothing at all may be saved.
  await page.getByLabel('Allow users to create app passwords').setChecked(!before.body.allowAppPasswords);
  await page.getByLabel('Skip multi-factor authentication for requests from these IP address ranges')
    .fill(`192.0.2.0/24\n${badRange}`);
  const r = await clickAndLoad(page, page.getByRole('button', { name: 'Save', exact: true }));
  assert.equal(r.status(), 400);
  assert.match(await page.locator('#form-error').textContent(), /Nothing was saved/);
  const errors = await page.locator('.field-error').allTextContents();
  assert.equal(errors.length, 1, JSON.stringify(errors));
  const fieldError = page.locator('#ips-error-1');
  const shown = (await fieldError.textContent()).trim().toLowerCase();
  assert.ok(shown.includes(core.body.message.replace(/\.$/, '').toLowerCase()),
    `the core's message "${core.body.message}" is shown: "${shown}"`);
  // Next to the field: in its block, and the field points at it.
  const ips = page.getByLabel('Skip multi-factor authentication for requests from these IP address ranges');
  assert.equal(await ips.getAttribute('aria-invalid'), 'true');
  assert.match(await ips.getAttribute('aria-describedby'), /ips-error-1/);
  assert.equal(await ips.inputValue(), `192.0.2.0/24\n${badRange}`, 'the typed value is kept');
  await screenshot(page, 'admin-settings-error');
  const afterwards = await api(server, 'GET', '/settings/mfa');
  assert.deepEqual(afterwards.body, before.body, 'nothing was saved');
});

test('audit log with CSV export, sign-in log, registration report, phone layout', async () => {
  // Audit log, filtered to the enforce records.
  await clickAndLoad(page, nav().getByRole('link', { name: 'Audit log' }));
  await page.getByLabel('Action starts with').fill('user.mfa');
  await clickAndLoad(page, page.getByRole('button', { name: 'Apply', exact: true }));
  assert.ok(await page.locator('#audit tbody tr').count() > 0);
  assert.match(await page.locator('#audit tbody tr').first().textContent(), /user\.mfa\./);
  await screenshot(page, 'admin-audit');

  const href = await page.getByRole('link', { name: 'CSV', exact: true }).getAttribute('href');
  const csv = await page.request.get(new URL(href, page.url()).href);
  assert.equal(csv.status(), 200);
  assert.equal(csv.headers()['content-type'], 'text/csv; charset=utf-8');
  assert.match(csv.headers()['content-disposition'], /^attachment; filename="tessera-audit-contoso\.csv"$/);
  const lines = (await csv.text()).split('\r\n').filter((l) => l !== '');
  assert.equal(lines[0], 'time,actor,actorId,sourceIp,action,target,targetId,before,after,correlationId,id');
  const rows = lines.slice(1);
  assert.ok(rows.every((l) => l.split(',')[4].startsWith('user.mfa')), 'the export holds the filtered log');
  const expected = (await auditRecords(server, { action: 'user.mfa' }, 500)).length;
  assert.equal(rows.length, expected, 'the whole filtered log, not one page');
  assert.ok(rows.some((l) => l.includes(',user.mfa.enforce,bulk000@contoso.com,')));

  // Sign-in log.
  await clickAndLoad(page, nav().getByRole('link', { name: 'Sign-in log' }));
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign-in log');
  assert.match(await page.locator('#signins tbody').textContent(), /admin@contoso\.com/);
  await screenshot(page, 'admin-signins');

  // Registration report.
  await clickAndLoad(page, nav().getByRole('link', { name: 'Reports' }));
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Registration report');
  const total = await api(server, 'GET', '/users?limit=500');
  assert.equal(Number(await page.locator('#total-users').textContent()), total.body.items.length);
  assert.equal(await page.locator('svg#chart-states').count(), 1);
  await screenshot(page, 'admin-report');

  // The MFA page on a phone, and a user page whose long name must wrap rather than widen it.
  const tooWide = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const long = await createUser(server, 'alexandra.vanderbergmontgomery@contoso.com', 'alexandra e2e password');
  await page.setViewportSize(PHONE);
  try {
    await openMfaPage();
    await screenshot(page, 'admin-mfa-phone');
    assert.ok(await tooWide() <= 0, `no sideways scrolling on the MFA page (${await tooWide()}px too wide)`);
    await page.goto(`${server.base}/admin/${TENANT}/users/${long.id}`);
    assert.ok(await tooWide() <= 0, `no sideways scrolling on a user page (${await tooWide()}px too wide)`);
  } finally {
    await page.setViewportSize(DESKTOP);
  }
});
