"""A Nameko-style RPC caller over kombu, doing exactly what nameko's
ClusterRpcProxy does on the wire (nameko-wire.md 1.1-1.2): a reply queue
rpc.reply-standalone_rpc_proxy-<uuid> bound to nameko-rpc with the uuid,
requests to nameko-rpc with routing key <service>.<method>, reply_to,
correlation_id, application/json bodies {"args": [...], "kwargs": {...}}."""
import json
import time
import uuid

from kombu import Connection, Exchange, Producer, Queue


class RemoteError(Exception):
    def __init__(self, error):
        super().__init__(f"{error.get('exc_type')} {error.get('value')}")
        self.error = error


class RpcCaller:
    def __init__(self, amqp_uri, service, reply_key=None,
                 queue_arguments=None, consume=True):
        """@reply_key: reuse the reply queue of an earlier caller (as a
        proxy reconnecting after a broker restart does). @queue_arguments
        are added to the reply queue's (x-expires). @consume false: the
        reply queue is declared but not read until start_consuming()."""
        self.service = service
        self.conn = Connection(amqp_uri)
        self.exchange = Exchange("nameko-rpc", type="topic", durable=True,
                                 auto_delete=False)
        self.reply_key = reply_key or str(uuid.uuid4())
        self.queue = Queue(f"rpc.reply-standalone_rpc_proxy-{self.reply_key}",
                           exchange=self.exchange, routing_key=self.reply_key,
                           durable=True, auto_delete=False,
                           queue_arguments={"x-expires": 300000,
                                            **(queue_arguments or {})})
        self.replies = {}
        self.consumer = self.conn.Consumer([self.queue], callbacks=[self._on],
                                           accept=["json"])
        if consume:
            self.consumer.consume()
        else:
            self.queue.bind(self.conn.default_channel).declare()
        self.producer = Producer(self.conn.default_channel)

    def start_consuming(self):
        self.consumer.consume()

    def _on(self, body, message):
        self.replies[message.properties.get("correlation_id")] = (
            body, message.properties)
        message.ack()

    def send(self, method, *args, body=None, content_type="application/json",
             reply=True, **kwargs):
        cid = str(uuid.uuid4())
        payload = body if body is not None else json.dumps(
            {"args": list(args), "kwargs": kwargs})
        self.producer.publish(
            payload, exchange=self.exchange,
            routing_key=f"{self.service}.{method}", mandatory=True,
            reply_to=self.reply_key if reply else None, correlation_id=cid,
            content_type=content_type, content_encoding="utf-8",
            delivery_mode=2, priority=0, serializer=None,
            headers={"nameko.call_id_stack": [
                "standalone_rpc_proxy.call." + str(uuid.uuid4())]},
            declare=[self.exchange])
        return cid

    def wait(self, cid, timeout=30):
        deadline = time.time() + timeout
        while cid not in self.replies and time.time() < deadline:
            try:
                self.conn.drain_events(timeout=0.5)
            except Exception:
                pass
        if cid not in self.replies:
            raise TimeoutError(cid)
        return self.replies.pop(cid)

    def call(self, method, *args, **kwargs):
        body, _ = self.wait(self.send(method, *args, **kwargs))
        if body["error"]:
            raise RemoteError(body["error"])
        return body["result"]

    def close(self):
        try:
            self.queue.bind(self.conn.default_channel).delete()
        except Exception:
            pass
        self.conn.release()
