"""A TCP relay for tests: listens on a free port of 127.0.0.1 and forwards
each connection to a target, so a test decides when bytes flow. While held
(hold()), connections are accepted but nothing is forwarded in either
direction; release() lets the bytes through. cut() drops every connection
at once, as a broker restart or a network failure would."""
import select
import socket
import threading


class Relay:
    def __init__(self, host, port):
        self.target = (host, port)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.lock = threading.Lock()
        self.pairs = []
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self):
        """New bytes wait in the relay until release()."""
        self.flowing.clear()

    def release(self):
        self.flowing.set()

    def cut(self):
        """Closes every relayed connection (both sides see a reset/EOF)."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def connections(self):
        """How many connections were accepted so far."""
        with self.lock:
            return self.accepted

    def close(self):
        self.closed = True
        self.release()
        self.cut()
        self.server.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream),
                             daemon=True).start()

    def _pump(self, a, b):
        socks = [a, b]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 0.5)
                if not readable:
                    if self.closed:
                        return
                    continue
                self.flowing.wait()
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass
            with self.lock:
                if (a, b) in self.pairs:
                    self.pairs.remove((a, b))
