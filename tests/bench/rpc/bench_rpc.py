"""Benchmark, one run: RPC create round trips through the daemon with 64
calls in flight (p50/p99), beside an AMQP echo responder through the same
broker with the same caller (the ceiling of the AMQP path), and the
Salesforce API calls used per 1,000 creates."""
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pylib"))
from kombu import Connection, Exchange, Producer, Queue  # noqa
from nameko_rpc import RpcCaller  # noqa
from sfc_harness import AMQP, Daemon, Sim, base_config, service_name  # noqa

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
    work = tempfile.mkdtemp(prefix="sfc-brpc-")
    sim = Sim(env={"SFSIM_CDC": "0"})
    service = service_name()
    rpc_cfg = "rpc = { enabled = true; max_workers = 16; };"
    d = Daemon(base_config(sim, service, work, "", extra=rpc_cfg).replace(
        'level = "info"', 'level = "warn"'), work)
    d.start()
    caller = RpcCaller(AMQP, service)
    deadline = time.time() + 20
    while True:
        try:
            caller.wait(caller.send("limits"), 1)
            break
        except TimeoutError:
            assert time.time() < deadline, d.output()
    api0 = sim.counter("api_calls")
    rate, p50, p99, n = run(caller, "create",
                            lambda i: ("Contact", {"LastName": f"B{i}"}))
    api = sim.counter("api_calls") - api0
    d.kill(15)
    d.wait(15)
    caller.close()

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
    print(f"RPC create through sfconnector, {IN_FLIGHT} in flight: "
          f"{rate:8.0f} calls/s  p50 {p50:6.0f} us  p99 {p99:6.0f} us")
    print(f"ceiling, AMQP echo RPC (Python responder), same caller: "
          f"{erate:8.0f} calls/s  p50 {ep50:6.0f} us  p99 {ep99:6.0f} us")
    print(f"Salesforce API calls per 1,000 creates: {api * 1000 / n:.0f} "
          f"(coalescing off)")
    ok = n == CALLS and en == CALLS
    print("bench_rpc: " + ("done" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
