"""An ordinary redis-py program, unchanged from what one would write for Redis.

Run by tests/tests/clients.rs against a real Orbit: python3 redis_py_app.py PORT
Exits non-zero (with the assertion) if anything differs from what Redis would do.
"""
import sys
import threading
import time

import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)

assert r.ping() is True
assert r.set("user:1:name", "ada") is True
assert r.get("user:1:name") == "ada"
assert r.set("counter", 10, ex=100) is True
assert r.incrby("counter", 5) == 15
assert 0 < r.ttl("counter") <= 100
assert r.mset({"a": "1", "b": "2", "{t}x": "3"}) is True
assert r.mget("a", "b", "{t}x", "missing") == ["1", "2", "3", None]

r.hset("user:1", mapping={"name": "ada", "lang": "rust"})
assert r.hgetall("user:1") == {"name": "ada", "lang": "rust"}
assert r.hincrby("user:1", "visits", 3) == 3

r.delete("queue")
r.rpush("queue", "a", "b", "c")
assert r.lrange("queue", 0, -1) == ["a", "b", "c"]
assert r.lpop("queue") == "a"

r.sadd("tags", "x", "y", "z")
assert r.smembers("tags") == {"x", "y", "z"}

r.zadd("board", {"ann": 10, "bob": 20, "cy": 15})
assert r.zrange("board", 0, -1, withscores=True) == [("ann", 10.0), ("cy", 15.0), ("bob", 20.0)]
assert r.zrevrank("board", "bob") == 0

# Pipelines (with and without MULTI are both pipelined; MULTI itself is not offered yet).
p = r.pipeline(transaction=False)
for i in range(100):
    p.set(f"p:{i}", i)
p.get("p:42")
res = p.execute()
assert res[-1] == "42"

# Errors come back as exceptions with Redis's text.
r.set("str", "v")
try:
    r.lpush("str", "x")
    raise AssertionError("expected WRONGTYPE")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e

# Pub/sub across connections.
ps = r.pubsub()
ps.subscribe("news")
assert ps.get_message(timeout=2)["type"] == "subscribe"
assert r.publish("news", "hello") == 1
msg = None
deadline = time.time() + 5
while msg is None and time.time() < deadline:
    msg = ps.get_message(timeout=1)
assert msg is not None and msg["data"] == "hello", msg
ps.close()

# A blocking pop woken by a push from another connection.
r.delete("jobs")
got = {}


def worker():
    got["v"] = redis.Redis(host="127.0.0.1", port=port, decode_responses=True).blpop("jobs", timeout=5)


t = threading.Thread(target=worker)
t.start()
time.sleep(0.2)
r.rpush("jobs", "job-1")
t.join()
assert got["v"] == ("jobs", "job-1"), got

info = r.info()
assert info["redis_version"].startswith("7."), info["redis_version"]
assert "connected_clients" in info
assert r.dbsize() > 0
r.flushdb()
assert r.dbsize() == 0
print("redis-py app: ok")
