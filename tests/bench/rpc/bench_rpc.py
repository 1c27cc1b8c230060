"""Benchmark, one run: RPC create round trips through the daemon with 64
calls in flight (p50/p99), with coalescing off and on; beside them, as
ceilings, the same creates sent straight to sfsim over REST by 64 callers
with kept-alive connections, and an AMQP echo responder through the same
broker with the same caller (the ceiling of the AMQP path); and the
Salesforce API calls used per 1,000 creates, coalescing off and on."""
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from kombu import Connection, Exchange, Producer, Queue  # noqa
from nameko_rpc import RpcCaller  # noqa
from sfc_harness import (AMQP, Daemon, Sim, base_config,  # noqa
                         service_name, wait_rpc_ready)

CALLS = 2000
IN_FLIGHT = 64


def run(caller, method, make_args):
    lat, pending, sent = [], {}, 0
    t0 = time.time()
    while sent < CALLS or pending:
        while sent < CALLS and len(pending) < IN_FLIGHT:
            pending[caller.send(method, *make_args(sent))] = time.time()
            sent += 1
        try:
            caller.conn.drain_events(timeout=5)
        except Exception:
            break
        for cid in [c for c in pending if c in caller.replies]:
            body, _ = caller.replies.pop(cid)
            assert body["error"] is None, body["error"]
            lat.append(time.time() - pending.pop(cid))
    elapsed = time.time() - t0
    lat.sort()
    return (len(lat) / elapsed, lat[len(lat) // 2] * 1e6,
            lat[len(lat) * 99 // 100] * 1e6, len(lat))


def rest_direct(sim):
    """The same creates, straight to sfsim: IN_FLIGHT callers, each on one
    kept-alive connection."""
    sim.login()
    url = urllib.parse.urlsplit(sim.url)
    lat, lock = [], threading.Lock()
    per = CALLS // IN_FLIGHT

    def one(k):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        mine = []
        for i in range(per):
            body = json.dumps({"LastName": f"D{k}-{i}"})
            t = time.time()
            conn.request("POST", "/services/data/v60.0/sobjects/Contact",
                         body, {"Authorization": "Bearer " + sim.token,
                                "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 201, r.status
            mine.append(time.time() - t)
        conn.close()
        with lock:
            lat.extend(mine)

    t0 = time.time()
    threads = [threading.Thread(target=one, args=(k,))
               for k in range(IN_FLIGHT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    lat.sort()
    return (len(lat) / elapsed, lat[len(lat) // 2] * 1e6,
            lat[len(lat) * 99 // 100] * 1e6, len(lat))


def through_daemon(sim, coalesce_ms):
    """RPC creates through a daemon; returns the figures and the API calls
    Salesforce saw."""
    work = tempfile.mkdtemp(prefix="sfc-brpc-")
    service = service_name()
    rpc_cfg = (f"rpc = {{ enabled = true; max_workers = {IN_FLIGHT}; "
               f"pool_size = 16; coalesce_window_ms = {coalesce_ms}; }};")
    d = Daemon(base_config(sim, service, work, "", extra=rpc_cfg).replace(
        'level = "info"', 'level = "warn"'), work)
    d.start()
    caller = RpcCaller(AMQP, service)
    wait_rpc_ready(caller)
    api0 = sim.counter("api_calls")
    figures = run(caller, "create",
                  lambda i: ("Contact", {"LastName": f"B{coalesce_ms}-{i}"}))
    api = sim.counter("api_calls") - api0
    d.kill(15)
    d.wait(15)
    caller.close()
    return figures, api


def echo_responder(service, stop):
    ex = Exchange("nameko-rpc", type="topic", durable=True, auto_delete=False)
    q = Queue(f"rpc-{service}", exchange=ex, routing_key=f"{service}.*",
              durable=True, auto_delete=False)
    with Connection(AMQP) as conn:
        producer = Producer(conn.default_channel)

        def on(body, message):
            producer.publish(json.dumps({"result": body, "error": None}),
                             exchange=ex,
                             routing_key=message.properties["reply_to"],
                             correlation_id=message.properties[
                                 "correlation_id"],
                             content_type="application/json",
                             content_encoding="utf-8", serializer=None)
            message.ack()
        with conn.Consumer([q], callbacks=[on], accept=["json"]) as c:
            c.qos(prefetch_count=IN_FLIGHT)
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.5)
                except Exception:
                    pass


def main():
    sim = Sim(env={"SFSIM_CDC": "0"})
    (rate, p50, p99, n), api = through_daemon(sim, 0)
    (crate, cp50, cp99, cn), capi = through_daemon(sim, 2)
    drate, dp50, dp99, dn = rest_direct(sim)

    echo_service = service_name()
    stop = threading.Event()
    t = threading.Thread(target=echo_responder, args=(echo_service, stop))
    t.start()
    time.sleep(1)
    echo = RpcCaller(AMQP, echo_service)
    erate, ep50, ep99, en = run(echo, "echo", lambda i: (i,))
    stop.set()
    t.join()
    echo.close()
    sim.stop()
    print(f"RPC create through sfconnector, {IN_FLIGHT} in flight, "
          f"coalescing off: {rate:8.0f} calls/s  p50 {p50:6.0f} us  "
          f"p99 {p99:6.0f} us")
    print(f"RPC create through sfconnector, {IN_FLIGHT} in flight, "
          f"coalescing 2 ms: {crate:7.0f} calls/s  p50 {cp50:6.0f} us  "
          f"p99 {cp99:6.0f} us")
    print(f"ceiling, the same creates straight to sfsim over REST, "
          f"{IN_FLIGHT} callers: {drate:8.0f} calls/s  p50 {dp50:6.0f} us  "
          f"p99 {dp99:6.0f} us")
    print(f"ceiling, AMQP echo RPC (Python responder), same caller: "
          f"{erate:8.0f} calls/s  p50 {ep50:6.0f} us  p99 {ep99:6.0f} us")
    print(f"ratio to the lower ceiling: {rate / min(drate, erate):.2f} "
          f"(coalescing off), {crate / min(drate, erate):.2f} (on)")
    print(f"Salesforce API calls per 1,000 creates: {api * 1000 / n:.0f} "
          f"coalescing off, {capi * 1000 / cn:.0f} coalescing 2 ms")
    ok = n == CALLS and cn == CALLS and en == CALLS
    ok = ok and dn == CALLS // IN_FLIGHT * IN_FLIGHT
    ok = ok and capi < api
    print("bench_rpc: " + ("done" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
