// sfsim's Streaming API driven by a Bayeux client we did not write (faye
// from npm): handshake with a Bearer token, subscribe with the replay
// extension, receive PushTopic events, then replay from a stored id.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const faye = require('faye');

const sfsimBin = process.argv[2];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfsim-faye-'));
const urlFile = path.join(dir, 'url');
const sim = spawn(sfsimBin, ['--port', '0', '--url-file', urlFile,
                             '--connect-timeout', '2000'],
                  { stdio: 'ignore' });
let failed = false;

function done(err) {
  if (err) {
    console.error('FAILED: ' + (err.stack || err));
    failed = true;
  }
  sim.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed');
  process.exit(failed ? 1 : 0);
}
setTimeout(() => done(new Error('timed out after 45 s')), 45000).unref();

async function waitUrl() {
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(urlFile)) {
      const t = fs.readFileSync(urlFile, 'utf8');
      if (t.endsWith('\n')) return t.trim();
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error('sfsim did not start');
}

async function rest(base, token, method, p, body) {
  const r = await fetch(base + '/services/data/v60.0/' + p, {
    method, headers: { Authorization: 'Bearer ' + token,
                       'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  if (r.status >= 300) throw new Error(method + ' ' + p + ': ' + r.status);
  return r.status === 204 ? null : r.json();
}

function client(base, token, replay) {
  const c = new faye.Client(base + '/cometd/60.0', { timeout: 30 });
  c.disable('websocket');
  c.setHeader('Authorization', 'Bearer ' + token);
  c.addExtension({
    outgoing(message, callback) {
      if (message.channel === '/meta/subscribe' && replay !== undefined) {
        message.ext = { replay: { [message.subscription]: replay } };
      }
      callback(message);
    },
  });
  return c;
}

function collect(c, channel, n) {
  const got = [];
  return new Promise((resolve, reject) => {
    const sub = c.subscribe(channel, m => {
      got.push(m);
      if (got.length === n) resolve(got);
    });
    sub.then(() => sub.ready = true, reject);
  }).then(got => ({ got }));
}

(async () => {
  const base = await waitUrl();
  const form = new URLSearchParams({
    grant_type: 'password', client_id: 'sfsim-client-id',
    client_secret: 'sfsim-client-secret', username: 'demo@sfsim.local',
    password: 'demo-passwordDEMOTOKEN' });
  const tok = await (await fetch(base + '/services/oauth2/token',
                                 { method: 'POST', body: form })).json();
  const token = tok.access_token;
  await rest(base, token, 'POST', 'sobjects/PushTopic', {
    Name: 'FayeContacts', Query: 'SELECT Id, LastName FROM Contact',
    ApiVersion: 60, NotifyForFields: 'All' });

  const live = client(base, token, -1);
  const first = collect(live, '/topic/FayeContacts', 3);
  await new Promise(r => setTimeout(r, 1500)); // subscribed and polling
  for (const name of ['Faye-0', 'Faye-1', 'Faye-2']) {
    await rest(base, token, 'POST', 'sobjects/Contact', { LastName: name });
  }
  const { got } = await first;
  const names = got.map(m => m.sobject.LastName);
  if (JSON.stringify(names) !== JSON.stringify(['Faye-0', 'Faye-1', 'Faye-2']))
    throw new Error('unexpected events ' + JSON.stringify(names));
  if (got.some(m => m.event.type !== 'created'))
    throw new Error('event type is not "created"');
  live.disconnect();

  // A second client resumes after the first event's replay id.
  const replayed = client(base, token, got[0].event.replayId);
  const again = await collect(replayed, '/topic/FayeContacts', 2);
  const r = again.got.map(m => m.sobject.LastName);
  if (JSON.stringify(r) !== JSON.stringify(['Faye-1', 'Faye-2']))
    throw new Error('replay returned ' + JSON.stringify(r));
  replayed.disconnect();
  console.log('faye received ' + names.join(', ') + ' and replayed ' +
              r.join(', '));
  done();
})().catch(done);
