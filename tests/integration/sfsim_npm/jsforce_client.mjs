// sfsim driven by jsforce (npm), a Salesforce client we did not write, used
// as its users use it: SOAP and OAuth logins and logouts, the identity URL,
// REST CRUD one record and many (sObject Collections, retrieve([ids])),
// query + queryMore paging, replication (updated/deleted), and its
// streaming client (faye underneath) with jsforce's replay extension.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { npmImport, startSim, rest, oauthLogin, Inbox, USER, PASSWORD,
         CLIENT_ID, CLIENT_SECRET, REST_DATETIME, STREAM_DATETIME }
  from './sim.mjs';

const jsforce = (await npmImport('jsforce')).default;
const { StreamingExtension } = await npmImport('jsforce/lib/api/streaming');

let sim;

before(async () => {
  // 200 is Salesforce's smallest query batch: three pages for 450 rows.
  sim = await startSim(['--query-batch-size', '200',
                        '--connect-timeout', '3000']);
});
after(async () => { await sim.stop(); });

function soapConnection() {
  return new jsforce.Connection({ loginUrl: sim.url, version: '60.0' });
}

async function oauthConnection() {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: sim.url, clientId: CLIENT_ID,
              clientSecret: CLIENT_SECRET },
    version: '60.0' });
  await conn.login(USER, PASSWORD);
  return conn;
}

test('SOAP login, identity, logout', async () => {
  const conn = soapConnection();
  const info = await conn.login(USER, PASSWORD);
  assert.match(info.id, /^005/);
  assert.match(info.organizationId, /^00D/);
  assert.equal(conn.instanceUrl, sim.url);
  // jsforce builds the identity URL from the SOAP userId/organizationId.
  const me = await conn.identity();
  assert.equal(me.username, USER);
  assert.equal(me.user_id, info.id);
  const token = conn.accessToken;
  await conn.logout();
  const r = await fetch(sim.url + '/services/data/v60.0/limits',
                        { headers: { Authorization: 'Bearer ' + token } });
  assert.equal(r.status, 401);
  assert.equal((await r.json())[0].errorCode, 'INVALID_SESSION_ID');
});

test('OAuth password login, identity, logout revokes', async () => {
  const conn = await oauthConnection();
  assert.equal(conn.instanceUrl, sim.url);
  const me = await conn.identity();
  assert.equal(me.username, USER);
  assert.ok(me.urls.rest.includes('/services/data/v'));
  const token = conn.accessToken;
  await conn.logout();
  const r = await fetch(sim.url + '/services/oauth2/userinfo',
                        { headers: { Authorization: 'Bearer ' + token } });
  assert.equal(r.status, 403);
});

test('REST CRUD, one record', async () => {
  const conn = await oauthConnection();
  const acc = conn.sobject('Account');
  const ret = await acc.create({ Name: 'Jsforce One' });
  assert.equal(ret.success, true);
  const rec = await acc.retrieve(ret.id);
  assert.equal(rec.Name, 'Jsforce One');
  assert.match(rec.CreatedDate, REST_DATETIME);
  const up = await acc.update({ Id: ret.id, Name: 'Jsforce Uno' });
  assert.equal(up.success, true);
  assert.equal((await acc.retrieve(ret.id, { fields: ['Name'] })).Name,
               'Jsforce Uno');
  const del = await acc.destroy(ret.id);
  assert.equal(del.success, true);
  await assert.rejects(acc.retrieve(ret.id), e => {
    assert.equal(e.errorCode, 'ENTITY_IS_DELETED');
    return true;
  });
});

test('REST CRUD, many records (sObject Collections)', async () => {
  const conn = await oauthConnection();
  const acc = conn.sobject('Account');
  const created = await acc.create([{ Name: 'Many 1' }, { Name: 'Many 2' },
                                    { Name: 'Many 3' }]);
  assert.deepEqual(created.map(r => r.success), [true, true, true]);
  const ids = created.map(r => r.id);
  // retrieve([ids]) describes Account, then POSTs composite/sobjects/Account
  // with every field; a missing id comes back as null.
  const got = await acc.retrieve([...ids, '001000000000000AAA']);
  assert.equal(got.length, 4);
  assert.deepEqual(got.slice(0, 3).map(r => r.Name),
                   ['Many 1', 'Many 2', 'Many 3']);
  assert.equal(got[3], null);
  const few = await acc.retrieve(ids, { fields: ['Name'] });
  assert.equal(few[0].Name, 'Many 1');
  assert.equal(few[0].CreatedDate, undefined);
  const updated = await acc.update(ids.map((Id, i) => ({ Id, Name: 'M' + i })));
  assert.deepEqual(updated.map(r => r.success), [true, true, true]);
  assert.deepEqual((await acc.retrieve(ids, { fields: ['Name'] }))
                     .map(r => r.Name), ['M0', 'M1', 'M2']);
  const gone = await acc.destroy(ids);
  assert.deepEqual(gone.map(r => r.success), [true, true, true]);
});

test('query and queryMore page through 450 records', async () => {
  const conn = await oauthConnection();
  const recs = [];
  for (let i = 0; i < 450; i++) recs.push({ Name: 'Page ' + i });
  const made = await conn.sobject('Account').create(recs,
                                                    { allowRecursive: true });
  assert.equal(made.filter(r => r.success).length, 450);
  const soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'Page %'";
  let page = await conn.query(soql, { autoFetch: false });
  const seen = new Set(page.records.map(r => r.Id));
  const sizes = [page.records.length];
  assert.equal(page.totalSize, 450);
  while (!page.done) {
    assert.ok(page.nextRecordsUrl, 'done:false without nextRecordsUrl');
    page = await conn.queryMore(page.nextRecordsUrl);
    sizes.push(page.records.length);
    page.records.forEach(r => seen.add(r.Id));
  }
  assert.deepEqual(sizes, [200, 200, 50]);
  assert.equal(seen.size, 450);
  // autoFetch follows the locators itself.
  const all = await conn.query(soql, { autoFetch: true, maxFetch: 1000 });
  assert.equal(all.records.length, 450);
});

test('updated and deleted (data replication)', async () => {
  const conn = await oauthConnection();
  const acc = conn.sobject('Account');
  const a = await acc.create({ Name: 'Repl A' });
  const b = await acc.create({ Name: 'Repl B' });
  await acc.destroy(b.id);
  const start = new Date(Date.now() - 10 * 60000);
  const end = new Date(Date.now() + 2 * 60000);
  const up = await acc.updated(start, end);
  assert.ok(up.ids.includes(a.id));
  assert.ok(!up.ids.includes(b.id));
  assert.match(up.latestDateCovered, REST_DATETIME);
  const del = await acc.deleted(start, end);
  assert.ok(del.deletedRecords.some(d => d.id === b.id));
  assert.match(del.earliestDateAvailable, REST_DATETIME);
});

test('streaming: PushTopic events, then replay from a stored id',
     async () => {
  const conn = await oauthConnection();
  await conn.sobject('PushTopic').create({
    Name: 'JsforceContacts', ApiVersion: 60.0, NotifyForFields: 'All',
    Query: 'SELECT Id, LastName, LastModifiedDate FROM Contact' });
  const inbox = new Inbox();
  const live = conn.streaming.createClient();
  // faye resolves once the subscribe reply was successful
  await live.subscribe('/topic/JsforceContacts', m => inbox.push(m));
  for (const n of ['J-0', 'J-1', 'J-2'])
    await conn.sobject('Contact').create({ LastName: n });
  const got = [await inbox.next('event 1'), await inbox.next('event 2'),
               await inbox.next('event 3')];
  assert.deepEqual(got.map(m => m.sobject.LastName), ['J-0', 'J-1', 'J-2']);
  for (const m of got) {
    assert.equal(m.event.type, 'created');
    assert.match(m.event.createdDate, STREAM_DATETIME);
    assert.match(m.sobject.LastModifiedDate, REST_DATETIME);
  }
  live.disconnect();

  // A new client with jsforce's replay extension resumes after event 1.
  const channel = '/topic/JsforceContacts';
  const replay = new StreamingExtension.Replay(
    channel, got[0].event.replayId);
  const auth = new StreamingExtension.AuthFailure(err => {
    inbox.push({ failure: err });
  });
  const client = conn.streaming.createClient([replay, auth]);
  const again = new Inbox();
  await client.subscribe(channel, m => again.push(m));
  const replayed = [await again.next('replayed 1'),
                    await again.next('replayed 2')];
  assert.deepEqual(replayed.map(m => m.sobject.LastName), ['J-1', 'J-2']);
  client.disconnect();
  assert.equal(inbox.items.length, 0, 'no auth failure was reported');
});

test('streaming: a revoked token reaches the AuthFailure extension',
     async () => {
  const token = (await oauthLogin(sim.url)).access_token;
  const conn = new jsforce.Connection({ instanceUrl: sim.url,
                                        accessToken: token,
                                        version: '60.0' });
  const failures = new Inbox();
  const client = conn.streaming.createClient([
    new StreamingExtension.AuthFailure(m => failures.push(m))]);
  await client.subscribe('/topic/JsforceContacts', () => {});
  await rest(sim.url, token, 'GET', 'limits'); // the token works
  await fetch(sim.url + '/services/oauth2/revoke', {
    method: 'POST', body: new URLSearchParams({ token }) });
  const m = await failures.next('the auth failure');
  assert.match(m.error || m.ext?.sfdc?.failureReason || '', /^40[13]::/);
  client.disconnect();
});
