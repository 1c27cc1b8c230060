// sfsim's Streaming API driven by the CometD JavaScript client (npm
// "cometd", with "cometd-nodejs-client" as its Node.js transport), set up as
// Salesforce's own CometD samples do (long polling, OAuth header, a replay
// extension): handshake, PushTopic events, a platform event's payload,
// replay from a stored id, a refused handshake, disconnect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { npmImport, startSim, rest, oauthLogin, Inbox, REST_DATETIME,
         STREAM_DATETIME } from './sim.mjs';

const { adapt } = await npmImport('cometd-nodejs-client');
adapt(); // window.XMLHttpRequest with a cookie jar, before CometD loads
const { CometD } = await npmImport('cometd');

const SEED = {
  objects: [{ name: 'Order_Event__e', fields: [
    { name: 'Order_Number__c', type: 'string', length: 20 },
    { name: 'Shipped_At__c', type: 'datetime' }] }] };

let sim, token;

before(async () => {
  sim = await startSim(['--connect-timeout', '3000'], SEED);
  token = (await oauthLogin(sim.url)).access_token;
  await rest(sim.url, token, 'POST', 'sobjects/PushTopic', {
    Name: 'CometdLeads', ApiVersion: 60.0, NotifyForFields: 'All',
    Query: 'SELECT Id, LastName, Company, LastModifiedDate FROM Lead' });
});
after(async () => { await sim.stop(); });

// The replay extension as Salesforce's samples write it: on when the
// handshake reply says ext.replay, then a {channel: replayId} map on each
// subscribe.
function replayExtension(replayFrom) {
  let enabled = false;
  return {
    incoming(m) {
      if (m.channel === '/meta/handshake')
        enabled = !!(m.ext && m.ext.replay === true);
      return m;
    },
    outgoing(m) {
      if (m.channel === '/meta/subscribe' && enabled &&
          replayFrom[m.subscription] !== undefined) {
        m.ext = m.ext || {};
        m.ext.replay = { [m.subscription]: replayFrom[m.subscription] };
      }
      return m;
    },
  };
}

function client(tok, replayFrom = {}) {
  const c = new CometD();
  c.unregisterTransport('websocket'); // Salesforce serves long polling only
  c.registerExtension('replay', replayExtension(replayFrom));
  c.configure({ url: sim.url + '/cometd/60.0', logLevel: 'warn',
                requestHeaders: { Authorization: 'OAuth ' + tok } });
  return c;
}

const handshake = c => new Promise(r => c.handshake(r));
const disconnect = c => new Promise(r => c.disconnect(r));

function subscribe(c, channel, inbox) {
  return new Promise((resolve, reject) => {
    c.subscribe(channel, m => inbox.push(m), reply =>
      reply.successful ? resolve(reply) : reject(new Error(reply.error)));
  });
}

test('handshake, PushTopic events in order, then replay', async () => {
  const c = client(token);
  const hs = await handshake(c);
  assert.equal(hs.successful, true);
  assert.match(c.getClientId(), /^[0-9a-z]{25,29}$/);
  assert.equal(hs.ext.replay, true);
  const inbox = new Inbox();
  await subscribe(c, '/topic/CometdLeads', inbox);
  for (const n of ['C-0', 'C-1', 'C-2'])
    await rest(sim.url, token, 'POST', 'sobjects/Lead',
               { LastName: n, Company: 'CometD' });
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await inbox.next('event ' + i));
  assert.deepEqual(got.map(m => m.data.sobject.LastName),
                   ['C-0', 'C-1', 'C-2']);
  assert.ok(got[0].data.event.replayId < got[1].data.event.replayId);
  for (const m of got) {
    assert.equal(m.channel, '/topic/CometdLeads');
    assert.equal(m.data.event.type, 'created');
    assert.match(m.data.event.createdDate, STREAM_DATETIME);
    assert.match(m.data.sobject.LastModifiedDate, REST_DATETIME);
  }
  assert.equal((await disconnect(c)).successful, true);

  // Another session resumes after the first event.
  const r = client(token, { '/topic/CometdLeads': got[0].data.event.replayId });
  assert.equal((await handshake(r)).successful, true);
  const again = new Inbox();
  await subscribe(r, '/topic/CometdLeads', again);
  const replayed = [await again.next('replayed 1'),
                    await again.next('replayed 2')];
  assert.deepEqual(replayed.map(m => m.data.sobject.LastName), ['C-1', 'C-2']);
  await disconnect(r);
});

test('platform event payload: event fields only, datetimes with a Z',
     async () => {
  const c = client(token);
  assert.equal((await handshake(c)).successful, true);
  const inbox = new Inbox();
  await subscribe(c, '/event/Order_Event__e', inbox);
  await rest(sim.url, token, 'POST', 'sobjects/Order_Event__e', {
    Order_Number__c: 'O-1', Shipped_At__c: '2024-05-02T10:00:00.000+0000' });
  const m = await inbox.next('the platform event');
  const p = m.data.payload;
  assert.deepEqual(Object.keys(p).sort(), ['CreatedById', 'CreatedDate',
                                           'Order_Number__c',
                                           'Shipped_At__c']);
  assert.match(p.CreatedDate, STREAM_DATETIME);
  assert.equal(p.Shipped_At__c, '2024-05-02T10:00:00.000Z');
  assert.match(p.CreatedById, /^005/);
  assert.equal(typeof m.data.schema, 'string');
  assert.match(m.data.event.EventUuid, /^[0-9a-f-]{36}$/);
  assert.equal(typeof m.data.event.replayId, 'number');
  await disconnect(c);
});

test('a bad token is refused at the handshake', async () => {
  const c = client('not-a-token');
  const hs = await handshake(c);
  assert.equal(hs.successful, false);
  assert.equal(hs.error, '403::Handshake denied');
  assert.equal(hs.ext.sfdc.failureReason, '401::Authentication invalid');
  // reconnect "none": the client gives up instead of handshaking again.
  assert.equal(hs.advice.reconnect, 'none');
  assert.equal(c.isDisconnected(), true);
});
