// clients.mjs - the official GOV.UK Notify (notifications-node-client) and
// Twilio (twilio) Node clients against rollcall-gateway-sim. Exits 1 at the
// first mismatch, 0 when every check passed.
//
// Environment (run.sh sets it):
//   SIM_URL                http://127.0.0.1:PORT of a running simulator
//   NOTIFY_API_KEY         the key the simulator was given
//   NOTIFY_CALLBACK_TOKEN  the bearer token it sends with Notify receipts
//   TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
//   RECEIPT_PORT           where this script listens for receipts: the
//                          simulator's --notify-callback-url is
//                          http://127.0.0.1:RECEIPT_PORT/notify
import assert from 'node:assert/strict';
import http from 'node:http';
import notifyPkg from 'notifications-node-client';
import twilio from 'twilio';

const { NotifyClient } = notifyPkg;

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (see the top of tests/npm/clients.mjs)`);
  return v;
}

const SIM_URL = env('SIM_URL');
const API_KEY = env('NOTIFY_API_KEY');
const CALLBACK_TOKEN = env('NOTIFY_CALLBACK_TOKEN');
const ACCOUNT_SID = env('TWILIO_ACCOUNT_SID');
const AUTH_TOKEN = env('TWILIO_AUTH_TOKEN');
const RECEIPT_PORT = Number(env('RECEIPT_PORT'));
const TEMPLATE = 'f33517ff-2a88-4f6e-b855-c550268ce08a';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const run = Date.now().toString(36); // references unique to this run

// ---- receipts --------------------------------------------------------------

const receipts = []; // {path, headers, body}
const waiters = [];

const receiver = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    receipts.push({ path: req.url, headers: req.headers, body });
    res.writeHead(204).end();
    for (const w of waiters.splice(0)) w();
  });
});

function waitReceipt(predicate, what, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no receipt: ${what}`)), ms);
    const check = () => {
      const found = receipts.find(predicate);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      } else {
        waiters.push(check);
      }
    };
    check();
  });
}

async function simFault(fault) {
  const res = await fetch(`${SIM_URL}/_sim/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(fault),
  });
  assert.equal(res.status, 201, `POST /_sim/faults: ${await res.text()}`);
}

// ---- checks ----------------------------------------------------------------

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

// The client takes a base URL before the key: new NotifyClient(baseUrl, apiKey).
const notify = new NotifyClient(SIM_URL, API_KEY);
const state = {};

check('notify: sendSms is accepted', async () => {
  const reference = `sms-${run}`;
  const { status, data } = await notify.sendSms(TEMPLATE, '07700 900123', {
    personalisation: { pupil: 'A', days: '3' },
    reference,
  });
  assert.equal(status, 201);
  assert.match(data.id, UUID);
  assert.equal(data.reference, reference);
  assert.equal(data.content.body, `template ${TEMPLATE}: pupil=A; days=3`);
  assert.equal(typeof data.content.from_number, 'string');
  assert.equal(data.template.id, TEMPLATE);
  assert.equal(data.template.version, 1);
  assert.equal(data.uri, `${SIM_URL}/v2/notifications/${data.id}`);
  state.sms = data;
});

check('notify: sendEmail is accepted', async () => {
  const { status, data } = await notify.sendEmail(TEMPLATE, 'parent@example.org', {
    personalisation: { pupil: 'B' },
    reference: `email-${run}`,
  });
  assert.equal(status, 201);
  assert.match(data.id, UUID);
  assert.equal(data.content.subject, `template ${TEMPLATE}`);
  assert.equal(data.content.body, `template ${TEMPLATE}: pupil=B`);
  assert.match(data.content.from_email, /@/);
  state.email = data;
});

check('notify: getNotifications by reference finds exactly the one', async () => {
  const { data } = await notify.getNotifications('sms', null, `sms-${run}`, null);
  assert.equal(data.notifications.length, 1);
  const n = data.notifications[0];
  assert.equal(n.id, state.sms.id);
  assert.equal(n.reference, `sms-${run}`);
  assert.equal(n.type, 'sms');
  assert.equal(n.phone_number, '07700 900123');
  assert.equal(n.template.id, TEMPLATE);
  assert.ok(n.created_at);
  assert.match(data.links.current, /reference=/);
  const none = await notify.getNotifications(null, null, `nobody-${run}`, null);
  assert.equal(none.data.notifications.length, 0);
});

check('notify: getNotificationById', async () => {
  const { data } = await notify.getNotificationById(state.email.id);
  assert.equal(data.id, state.email.id);
  assert.equal(data.type, 'email');
  assert.equal(data.email_address, 'parent@example.org');
  assert.equal(data.subject, `template ${TEMPLATE}`);
});

check('notify: a non-UK number is a ValidationError', async () => {
  await assert.rejects(notify.sendSms(TEMPLATE, '+1 555 123 4567', { reference: `bad-${run}` }), (err) => {
    assert.equal(err.response.status, 400);
    assert.equal(err.response.data.status_code, 400);
    assert.deepEqual(err.response.data.errors, [
      { error: 'ValidationError', message: 'phone_number Not a UK mobile number' },
    ]);
    return true;
  });
});

check('notify: a wrong secret is an AuthError', async () => {
  const wrong = API_KEY.slice(0, -36) + '00000000-0000-4000-8000-000000000000';
  await assert.rejects(new NotifyClient(SIM_URL, wrong).sendSms(TEMPLATE, '07700900123', {}), (err) => {
    assert.equal(err.response.status, 403);
    assert.equal(err.response.data.errors[0].error, 'AuthError');
    return true;
  });
});

check('notify: a 429 fault carries Retry-After', async () => {
  await simFault({ path: '/v2/notifications/sms', kind: 'retry_after', retry_after_s: 2 });
  await assert.rejects(notify.sendSms(TEMPLATE, '07700900123', {}), (err) => {
    assert.equal(err.response.status, 429);
    assert.equal(err.response.headers['retry-after'], '2');
    assert.equal(err.response.data.errors[0].error, 'RateLimitError');
    return true;
  });
});

check('notify: drop_after_receive fails the call, reconciled by reference', async () => {
  const reference = `dropped-${run}`;
  await simFault({ path: '/v2/notifications/sms', kind: 'drop_after_receive' });
  await assert.rejects(notify.sendSms(TEMPLATE, '07700900123', { reference }), (err) => {
    assert.equal(err.response, undefined, 'no HTTP answer at all');
    return true;
  });
  const { data } = await notify.getNotifications(null, null, reference, null);
  assert.equal(data.notifications.length, 1);
});

check('notify: the delivery receipt reaches the callback URL', async () => {
  const r = await waitReceipt((x) => x.path === '/notify' && x.body.includes(state.sms.id), 'Notify sms');
  assert.equal(r.headers.authorization, `Bearer ${CALLBACK_TOKEN}`);
  const body = JSON.parse(r.body);
  assert.equal(body.status, 'delivered');
  assert.equal(body.reference, `sms-${run}`);
  assert.equal(body.notification_type, 'sms');
  assert.ok(body.created_at && body.completed_at && body.sent_at);
});

// twilio-node 5 has no base-URL option: every call goes through the client's
// httpClient, so a RequestClient that rewrites https://api.twilio.com (and
// any region or edge host) to the simulator points the official client at it.
class SimRequestClient extends twilio.RequestClient {
  request(opts) {
    const u = new URL(opts.uri);
    return super.request({ ...opts, uri: new URL(u.pathname + u.search, SIM_URL).href });
  }
}

const tw = twilio(ACCOUNT_SID, AUTH_TOKEN, { httpClient: new SimRequestClient() });
const statusCallback = `http://127.0.0.1:${RECEIPT_PORT}/twilio?run=${run}`;

check('twilio: messages.create', async () => {
  const m = await tw.messages.create({
    to: '+447700900123',
    from: '+15005550006',
    body: 'Attendance alert',
    statusCallback,
  });
  assert.match(m.sid, /^SM[0-9a-f]{32}$/);
  assert.equal(m.accountSid, ACCOUNT_SID);
  assert.equal(m.to, '+447700900123');
  assert.equal(m.from, '+15005550006');
  assert.equal(m.body, 'Attendance alert');
  assert.equal(m.status, 'queued');
  assert.equal(m.numSegments, '1');
  assert.equal(m.direction, 'outbound-api');
  assert.equal(m.apiVersion, '2010-04-01');
  assert.ok(m.dateCreated instanceof Date && !Number.isNaN(m.dateCreated.getTime()), 'RFC 2822 date');
  assert.ok(Math.abs(m.dateCreated.getTime() - Date.now()) < 60000);
  assert.equal(m.uri, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${m.sid}.json`);
  state.twilio = m;
});

check('twilio: messages(sid).fetch and list', async () => {
  const m = await tw.messages(state.twilio.sid).fetch();
  assert.equal(m.sid, state.twilio.sid);
  assert.equal(m.body, 'Attendance alert');
  const list = await tw.messages.list({ to: '+447700900123', limit: 20 });
  assert.ok(list.some((x) => x.sid === state.twilio.sid));
});

check("twilio: a bad To is RestException 21211", async () => {
  await assert.rejects(tw.messages.create({ to: '12', from: '+15005550006', body: 'x' }), (err) => {
    assert.equal(err.status, 400);
    assert.equal(err.code, 21211);
    assert.equal(err.moreInfo, 'https://www.twilio.com/docs/errors/21211');
    assert.match(err.message, /Invalid 'To' Phone Number/);
    return true;
  });
});

check('twilio: a wrong auth token is 401 code 20003', async () => {
  const bad = twilio(ACCOUNT_SID, 'not-the-token', { httpClient: new SimRequestClient() });
  await assert.rejects(bad.messages.create({ to: '+447700900123', from: '+15005550006', body: 'x' }), (err) => {
    assert.equal(err.status, 401);
    assert.equal(err.code, 20003);
    return true;
  });
});

check('twilio: signed status callbacks, sent then delivered', async () => {
  const sid = state.twilio.sid;
  const final = await waitReceipt(
    (x) => x.path.startsWith('/twilio') && x.body.includes(sid) && x.body.includes('MessageStatus=delivered'),
    'Twilio delivered',
  );
  const params = Object.fromEntries(new URLSearchParams(final.body));
  assert.equal(params.MessageSid, sid);
  assert.equal(params.AccountSid, ACCOUNT_SID);
  assert.equal(params.To, '+447700900123');
  assert.ok(
    twilio.validateRequest(AUTH_TOKEN, final.headers['x-twilio-signature'], statusCallback, params),
    'X-Twilio-Signature checks out with twilio.validateRequest',
  );
  const sent = receipts.findIndex((x) => x.body.includes(sid) && x.body.includes('MessageStatus=sent'));
  assert.ok(sent >= 0 && sent < receipts.indexOf(final), '"sent" came before "delivered"');
});

// ---- run -------------------------------------------------------------------

const watchdog = setTimeout(() => {
  console.error('clients.mjs: gave up after 120 s');
  process.exit(1);
}, 120000);

await new Promise((resolve, reject) => {
  receiver.once('error', reject);
  receiver.listen(RECEIPT_PORT, '127.0.0.1', resolve);
});
let passed = 0;
let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(err && err.stack ? err.stack : err).replace(/\n/g, '\n  ')}`);
    break; // later checks lean on earlier ones
  }
}
receiver.close();
receiver.closeAllConnections?.();
clearTimeout(watchdog);
console.log(`gateway clients: ${passed} passed, ${failed} failed`);
process.exit(failed || passed !== checks.length ? 1 : 0);
