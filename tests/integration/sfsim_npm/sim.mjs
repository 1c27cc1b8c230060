// Helpers for the npm client conformance tests: run sfsim on a free port in
// a private directory, log in, call REST, wait on observable state.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// ES modules ignore NODE_PATH: resolve the test packages from the
// node_modules it names (tests/sfsim/npm/node_modules).
const nodeModules = (process.env.NODE_PATH || '').split(path.delimiter)[0];
const requireNpm = createRequire(path.join(nodeModules, 'package.json'));

// import() of an npm test package by name.
export function npmImport(name) {
  return import(pathToFileURL(requireNpm.resolve(name)).href);
}

export const USER = 'demo@sfsim.local';
export const PASSWORD = 'demo-passwordDEMOTOKEN'; // password + token
export const CLIENT_ID = 'sfsim-client-id';
export const CLIENT_SECRET = 'sfsim-client-secret';

const sfsimBin = process.env.SFSIM_BIN;

// Starts sfsim with @args (and @seed as its --seed JSON); resolves to
// { url, stop() }.
export async function startSim(args = [], seed = null) {
  if (!sfsimBin) throw new Error('SFSIM_BIN is not set');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfsim-npm-'));
  const urlFile = path.join(dir, 'url');
  const extra = [...args];
  if (seed) {
    fs.writeFileSync(path.join(dir, 'seed.json'), JSON.stringify(seed));
    extra.push('--seed', path.join(dir, 'seed.json'));
  }
  const log = fs.openSync(path.join(dir, 'sfsim.log'), 'w');
  const proc = spawn(sfsimBin, ['--port', '0', '--url-file', urlFile, ...extra],
                     { stdio: ['ignore', log, log] });
  let exited = false;
  proc.on('exit', () => { exited = true; });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise(r => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 400; i++) {
    if (exited) {
      const text = fs.readFileSync(path.join(dir, 'sfsim.log'), 'utf8');
      await stop();
      throw new Error('sfsim exited: ' + text);
    }
    if (fs.existsSync(urlFile)) {
      const t = fs.readFileSync(urlFile, 'utf8');
      if (t.endsWith('\n')) return { url: t.trim(), stop };
    }
    await new Promise(r => setTimeout(r, 25));
  }
  await stop();
  throw new Error('sfsim did not listen within 10 s');
}

// OAuth password grant: the token response.
export async function oauthLogin(base) {
  const form = new URLSearchParams({
    grant_type: 'password', client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET, username: USER, password: PASSWORD });
  const r = await fetch(base + '/services/oauth2/token',
                        { method: 'POST', body: form });
  if (r.status !== 200) throw new Error('login: ' + r.status);
  return r.json();
}

// REST call under /services/data/v60.0/; parsed body (null for 204).
export async function rest(base, token, method, p, body) {
  const r = await fetch(base + '/services/data/v60.0/' + p, {
    method, headers: { Authorization: 'Bearer ' + token,
                       'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  if (r.status >= 300)
    throw new Error(method + ' ' + p + ': ' + r.status + ' ' + await r.text());
  return r.status === 204 ? null : r.json();
}

// Resolves when @check() returns a truthy value (polled), or rejects after
// @ms with @what.
export async function waitFor(check, what, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise(r => setTimeout(r, 20));
  }
}

// A queue of messages a subscription receives, awaited one by one.
export class Inbox {
  constructor() { this.items = []; this.waiters = []; }
  push(m) {
    const w = this.waiters.shift();
    if (w) w(m); else this.items.push(m);
  }
  next(what, ms = 20000) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter(w => w !== got);
        reject(new Error('timed out waiting for ' + what));
      }, ms);
      const got = m => { clearTimeout(t); resolve(m); };
      this.waiters.push(got);
    });
  }
}

// "2024-05-02T09:14:03.512Z": the Streaming API's datetime form.
export const STREAM_DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
// "2024-05-02T09:14:03.000+0000": REST's.
export const REST_DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/;
