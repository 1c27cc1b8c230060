"""Prints the events a Nameko service would receive from sfconnector:
queues declared exactly as @event_handler("salesforce", <event type>) on a
service named "demo" declares them. Stops after --seconds (0 = Ctrl-C)."""
import argparse
import json
import time

from kombu import Connection, Exchange, Queue

p = argparse.ArgumentParser()
p.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672//")
p.add_argument("--service", default="salesforce")
p.add_argument("--seconds", type=float, default=0)
p.add_argument("events", nargs="*", default=[
    "salesforce_contact_created", "salesforce_contact_updated",
    "salesforce_lead_created", "salesforce_lead_updated"])
args = p.parse_args()

ex = Exchange(args.service + ".events", type="topic", durable=True,
              auto_delete=False)
queues = [Queue(f"evt-{args.service}-{e}--demo.on_{e}", exchange=ex,
                routing_key=e, durable=True, auto_delete=False)
          for e in args.events]
count = 0


def on_event(body, message):
    global count
    count += 1
    print(f"{message.delivery_info['routing_key']:32} "
          f"{json.dumps(body)[:110]}", flush=True)
    message.ack()


with Connection(args.amqp) as conn:
    with conn.Consumer(queues, callbacks=[on_event], accept=["json"]):
        print(f"waiting for events on {args.service}.events "
              f"({', '.join(args.events)})", flush=True)
        end = time.time() + args.seconds if args.seconds else None
        try:
            while end is None or time.time() < end:
                try:
                    conn.drain_events(timeout=1)
                except Exception:
                    pass
        except KeyboardInterrupt:
            pass
print(f"{count} events received", flush=True)
