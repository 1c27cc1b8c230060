// A CometD server we did not write (cometd-nodejs-server), made to look
// like Salesforce's Streaming API for the streaming tests:
//   - /cometd/<version>: the CometD server, with Salesforce's replay
//     extension added here (ext.replay on /meta/subscribe: -1 new, -2 all
//     retained, N after N; data.event.replayId on every event; ext.replay
//     in the handshake reply);
//   - everything else is proxied to an upstream (sfsim: logins, REST), with
//     the upstream's URL in bodies replaced by ours, so the instance_url a
//     login hands out points here;
//   - /_ctl/...: publish events, switch behaviours, read counters.
// Switches (POST /_ctl/config, or --config JSON at start):
//   events_in_subscribe  replayed events travel in the subscribe reply
//   events_in_handshake  a handshake reply carries the last events (5, or
//                        the number given) of the channels its token's
//                        previous session had
//   out_of_order         each batch of events is delivered newest first
//   session_unknown: N   the next N subscribes meet a forgotten session
//                        (the server's own "402::session_unknown")
//   drop_polls: N        the next N held /meta/connect lose their socket
// POST /_ctl/forget forgets every session at once.
// Events are retained in --state FILE (one JSON line each), so a server
// started again on the same port and file replays what it had published:
// "restart with retained events". Usage:
//   node server.js --port P --url-file F --upstream URL --state FILE
//                  [--timeout MS] [--config JSON]
'use strict';

const fs = require('fs');
const http = require('http');
const cometd = require('cometd-nodejs-server');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

const cfg = Object.assign({
    events_in_subscribe: false,
    events_in_handshake: false,
    out_of_order: false,
    session_unknown: 0,
    drop_polls: 0,
    first_replay: 1000,
}, args.config ? JSON.parse(args.config) : {});

const stats = {
    handshakes: 0, subscribes: 0, connects: 0, published: 0, delivered: 0,
    session_unknown: 0, dropped_polls: 0, events_in_handshake: 0,
    events_in_subscribe: 0, restarts_loaded: 0,
};

// channel -> {events: [{id, data}], next}
const channels = new Map();
// session id -> {token, cursors: Map(channel -> last id sent)}
const sessions = new Map();
// token -> cursors of its last session (for events_in_handshake)
const previous = new Map();

function channelOf(name) {
    let ch = channels.get(name);
    if (!ch) {
        ch = {events: [], next: cfg.first_replay};
        channels.set(name, ch);
    }
    return ch;
}

function loadState() {
    if (!args.state || !fs.existsSync(args.state))
        return;
    for (const line of fs.readFileSync(args.state, 'utf8').split('\n')) {
        if (!line)
            continue;
        const e = JSON.parse(line);
        const ch = channelOf(e.channel);
        ch.events.push({id: e.id, data: e.data});
        ch.next = e.id + 1 + (e.id % 3);
        stats.restarts_loaded++;
    }
}

// Events of @ch after @cursor (-1: none, -2: all retained).
function after(ch, cursor) {
    if (cursor === -1)
        return [];
    return ch.events.filter(e => cursor === -2 || e.id > cursor);
}

function deliver(session, name, events) {
    const info = sessions.get(session.id);
    if (!info || events.length === 0)
        return;
    const list = cfg.out_of_order ? events.slice().reverse() : events;
    session.batch(() => {
        for (const e of list)
            session.deliver(null, name, e.data);
    });
    let last = info.cursors.get(name);
    for (const e of events)
        last = last === undefined || e.id > last ? e.id : last;
    info.cursors.set(name, last);
    stats.delivered += events.length;
}

function publish(name, count) {
    const ch = channelOf(name);
    const fresh = [];
    for (let i = 0; i < count; i++) {
        const id = ch.next;
        ch.next += 1 + (id % 3); // increasing, with gaps
        const data = {
            event: {createdDate: new Date().toISOString(), replayId: id,
                    type: 'created'},
            sobject: {Id: '003' + String(id).padStart(15, '0'),
                      Name: 'CometD ' + id},
        };
        const e = {id, data};
        ch.events.push(e);
        fresh.push(e);
        if (args.state)
            fs.appendFileSync(args.state,
                              JSON.stringify({channel: name, id, data}) + '\n');
    }
    stats.published += count;
    for (const [sid, info] of sessions) {
        if (!info.cursors.has(name))
            continue;
        const session = server.getServerSession(sid);
        if (session)
            deliver(session, name, fresh);
    }
}

const server = cometd.createCometDServer({
    timeout: Number(args.timeout || 2000),
    maxInterval: Number(args.max_interval || 10000),
});

// Salesforce's replay extension, on top of the server.
server.addExtension({
    incoming(srv, session, message, callback) {
        if (session)
            session._metaConnectDeliveryOnly = !cfg.events_in_subscribe;
        if (message.channel === '/meta/subscribe' && session &&
            sessions.has(session.id)) {
            const name = String(message.subscription).split('?')[0];
            const map = (message.ext && message.ext.replay) || {};
            const from = typeof map[name] === 'number' ? map[name] : -1;
            const ch = channelOf(name);
            const info = sessions.get(session.id);
            stats.subscribes++;
            // From here on the session gets this channel's new events.
            info.cursors.set(name, ch.events.length
                                       ? ch.events[ch.events.length - 1].id
                                       : -1);
            const replay = after(ch, from);
            if (cfg.events_in_subscribe && replay.length)
                stats.events_in_subscribe++;
            deliver(session, name, replay);
        }
        callback(null, true);
    },
    outgoing(srv, sender, session, message, callback) {
        if (message.channel === '/meta/handshake' && message.successful) {
            message.ext = Object.assign({}, message.ext,
                                        {replay: true, 'payload.format': true});
        }
        callback(null, true);
    },
});

server.addListener('sessionAdded', (session, message) => {
    stats.handshakes++;
    const token = message._token || '';
    sessions.set(session.id, {token, cursors: new Map()});
    session.addListener('removed', () => {
        const info = sessions.get(session.id);
        if (info)
            previous.set(info.token, info.cursors);
        sessions.delete(session.id);
    });
});

// The last few retained events of the channels the token's previous
// session had (as a server resuming a session's queue sends them), as data
// messages: duplicates or not, the client must take them.
function handshakeEvents(token) {
    const out = [];
    const cursors = previous.get(token);
    const n = typeof cfg.events_in_handshake === 'number'
                  ? cfg.events_in_handshake
                  : 5;
    if (!cursors)
        return out;
    for (const name of cursors.keys()) {
        const ch = channels.get(name);
        for (const e of ch ? ch.events.slice(-n) : [])
            out.push({channel: name, data: e.data});
    }
    return out;
}

let upstream = args.upstream ? new URL(args.upstream) : null;
let self = '';

function proxy(req, res, body) {
    const opts = {
        hostname: upstream.hostname, port: upstream.port, path: req.url,
        method: req.method, headers: Object.assign({}, req.headers,
                                                   {host: upstream.host}),
    };
    delete opts.headers['content-length'];
    const up = http.request(opts, r => {
        const chunks = [];
        r.on('data', c => chunks.push(c));
        r.on('end', () => {
            let text = Buffer.concat(chunks).toString('utf8');
            text = text.split(upstream.origin).join(self);
            const headers = Object.assign({}, r.headers);
            delete headers['content-length'];
            delete headers['transfer-encoding'];
            res.writeHead(r.statusCode, headers);
            res.end(text);
        });
    });
    up.on('error', () => {
        res.statusCode = 502;
        res.end();
    });
    if (body.length)
        up.setHeader('Content-Length', body.length);
    up.end(body);
}

function control(req, res, body) {
    const json = body.length ? JSON.parse(body.toString('utf8')) : {};
    let out = {ok: true};
    if (req.url === '/_ctl/publish') {
        // {channel, count, rate (events/s, 0: at once)}
        const name = json.channel;
        let left = json.count || 0;
        const rate = json.rate || 0;
        channelOf(name);
        if (!rate) {
            publish(name, left);
        } else {
            const per = Math.max(1, Math.round(rate / 100));
            const timer = setInterval(() => {
                const n = Math.min(per, left);
                publish(name, n);
                left -= n;
                if (left <= 0)
                    clearInterval(timer);
            }, 10);
        }
    } else if (req.url === '/_ctl/forget') {
        // Every session is forgotten now, as after a server-side expiry.
        for (const sid of Array.from(sessions.keys())) {
            const session = server.getServerSession(sid);
            if (session)
                session.disconnect();
        }
    } else if (req.url === '/_ctl/config') {
        Object.assign(cfg, json);
    } else if (req.url === '/_ctl/stats') {
        out = {stats, channels: {}};
        for (const [name, ch] of channels)
            out.channels[name] = {
                retained: ch.events.length,
                last_replay: ch.events.length
                                 ? ch.events[ch.events.length - 1].id
                                 : null,
            };
    } else {
        res.statusCode = 404;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(out));
}

function bayeux(req, res, body) {
    let messages;
    try {
        messages = JSON.parse(body.toString('utf8'));
    } catch (e) {
        res.statusCode = 400;
        res.end();
        return;
    }
    if (!Array.isArray(messages))
        messages = [messages];
    for (const m of messages) {
        if (m.channel === '/meta/subscribe' && cfg.session_unknown > 0) {
            const session = server.getServerSession(m.clientId);
            if (session) {
                cfg.session_unknown--;
                stats.session_unknown++;
                session.disconnect();
            }
        }
        if (m.channel === '/meta/connect') {
            stats.connects++;
            if (cfg.drop_polls > 0 && !(m.advice && m.advice.timeout === 0)) {
                // Dropped while held: the socket goes, no reply comes.
                setTimeout(() => {
                    if (res.writableEnded || cfg.drop_polls <= 0)
                        return;
                    cfg.drop_polls--;
                    stats.dropped_polls++;
                    req.socket.destroy();
                }, 300);
            }
        }
        if (m.channel === '/meta/handshake')
            m._token = req.headers.authorization || '';
        if (m.channel === '/meta/handshake' && cfg.events_in_handshake) {
            const extra = handshakeEvents(req.headers.authorization || '');
            if (extra.length) {
                stats.events_in_handshake += extra.length;
                const end = res.end.bind(res);
                res.end = (content, ...rest) => {
                    const arr = JSON.parse(content);
                    return end(JSON.stringify(arr.concat(extra)), ...rest);
                };
            }
        }
    }
    req.body = messages;
    server.handle(req, res);
}

const httpServer = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url.startsWith('/_ctl/'))
            control(req, res, body);
        else if (req.url.startsWith('/cometd'))
            bayeux(req, res, body);
        else if (upstream)
            proxy(req, res, body);
        else {
            res.statusCode = 404;
            res.end();
        }
    });
});
httpServer.timeout = 0;
httpServer.keepAliveTimeout = 60000;

loadState();
httpServer.listen(Number(args.port || 0), '127.0.0.1', () => {
    self = 'http://127.0.0.1:' + httpServer.address().port;
    if (args['url-file'])
        fs.writeFileSync(args['url-file'], self + '\n');
});
process.on('SIGTERM', () => process.exit(0));
