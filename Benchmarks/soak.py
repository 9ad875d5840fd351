"""The soak test behind Benchmarks/soak.sh: two app nodes and two store nodes under load from
many clients, each incrementing its own session, while a fault loop SIGKILLs and restarts the
store nodes and one app node. Prints a summary table; exits 1 on any lost increment, any 5xx other
than the documented lock-reject 503, or an RSS that kept growing.

The clients are their own load balancer: sticky, a client goes to the app node named by the
route in its cookie and to the other one when that one does not answer; non-sticky, it
alternates between the two.
"""
import http.client, os, random, signal, socket, subprocess, sys, tempfile, threading, time

binary, variant, seconds, store, backups = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
clients = int(os.environ.get("CLIENTS", "40"))
base = int(os.environ.get("SOAK_PORT", "23400"))
app_ports = [base, base + 1]
store_ports = [base + 10, base + 11]
work = tempfile.mkdtemp(prefix="soak-")


def start_store(n):
    port = store_ports[n]
    if store == "redis":
        folder = os.path.join(work, f"redis{n}")
        os.makedirs(folder, exist_ok=True)
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder]
    else:
        command = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"] + (["-u", "root"] if os.getuid() == 0 else [])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return process


def config(n):
    nodes = ",".join(
        f"n{i + 1}:redis://127.0.0.1:{p}" if store == "redis" else f"n{i + 1}:127.0.0.1:{p}" for i, p in enumerate(store_ports)
    )
    sticky = variant == "sticky"
    extra = ' lockingMode="all"' if not sticky else ' sessionBackupAsync="false" sessionBackupTimeout="1000"'
    failover = '' if backups else ' failoverNodes="n2"'
    path = os.path.join(work, f"app{n}.xml")
    with open(path, "w") as f:
        f.write(f"""<Server>
  <Connector port="{app_ports[n]}" address="127.0.0.1"/>
  <Engine jvmRoute="app{n + 1}">
    <Context path="/myapp" app="sample" sessionTimeout="30">
      <Manager memcachedNodes="{nodes}"{failover} sticky="{str(sticky).lower()}"{extra} operationTimeout="500"/>
    </Context>
  </Engine>
</Server>
""")
    return path


def start_app(n):
    log = open(os.path.join(work, f"app{n}.log"), "a")
    # Info: a request answered 503 for the store is logged there with its operation and nodes.
    process = subprocess.Popen([binary, "--config", config(n), "--log-level", "info"], stdout=log, stderr=log)
    wait_port(app_ports[n])
    return process


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def rss_kb(process):
    try:
        with open(f"/proc/{process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None


stores = [start_store(0), start_store(1)]
apps = [start_app(0), start_app(1)]
lock = threading.Lock()
stop = threading.Event()
totals = {"requests": 0, "ok": 0, "lock503": 0, "store503": 0, "other5xx": 0, "4xx": 0, "refused": 0, "in_doubt": 0}
bad = []


class Client(threading.Thread):
    def __init__(self, number):
        super().__init__(daemon=True)
        self.number = number
        self.cookie = None
        self.acknowledged = 0  # /count answered 200
        self.in_doubt = 0      # requests whose answer never came (an app node killed mid-request)
        self.unavailable = 0   # 503 "store unavailable": not saved, as far as the server knew
        self.last_count = 0

    def node_order(self, turn):
        if variant == "sticky" and self.cookie and self.cookie.endswith(".app2"):
            return [1, 0]
        if variant == "sticky":
            return [0, 1] if (self.cookie is None and self.number % 2 == 0) or (self.cookie or "").endswith(".app1") else [1, 0]
        return [turn % 2, 1 - turn % 2]

    def send(self, node, path):
        connection = http.client.HTTPConnection("127.0.0.1", app_ports[node], timeout=5)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        cookie = response.getheader("Set-Cookie")
        connection.close()
        return response.status, body, cookie

    def request(self, path, turn):
        for node in self.node_order(turn):
            try:
                return self.send(node, path)
            except ConnectionRefusedError:
                with lock:
                    totals["refused"] += 1
                continue
            except (ConnectionError, http.client.HTTPException, socket.timeout, OSError):
                return None  # sent, no answer: may have been applied
        return "down"

    def run(self):
        turn = self.number
        while not stop.is_set():
            turn += 1
            result = self.request("/myapp/count", turn)
            with lock:
                totals["requests"] += 1
            if result == "down":
                time.sleep(0.05)
                continue
            if result is None:
                self.in_doubt += 1
                with lock:
                    totals["in_doubt"] += 1
                continue
            status, body, cookie = result
            if status == 200:
                if cookie:
                    self.cookie = cookie.split(";")[0]
                fields = dict(line.split("=", 1) for line in body.splitlines() if "=" in line)
                count = int(fields.get("count", "0"))
                self.acknowledged += 1
                with lock:
                    totals["ok"] += 1
                    if count < self.acknowledged:
                        bad.append(f"client {self.number}: count {count} after {self.acknowledged} acknowledged increments (lost)")
                self.last_count = count
            elif status == 503:
                key = "lock503" if "lock" in body else "store503"
                with lock:
                    totals[key] += 1
                    if key == "store503":
                        self.unavailable += 1
                        bad.append(f"client {self.number}: 503 {body.strip()[:80]}")
                time.sleep(0.02)
            elif status >= 500:
                with lock:
                    totals["other5xx"] += 1
                    bad.append(f"client {self.number}: {status} {body.strip()[:80]}")
            else:
                with lock:
                    totals["4xx"] += 1
                    bad.append(f"client {self.number}: {status} {body.strip()[:80]}")

    def final_count(self):
        for turn in range(50):
            result = self.request("/myapp/read", turn)
            if isinstance(result, tuple) and result[0] == 200:
                fields = dict(line.split("=", 1) for line in result[1].splitlines() if "=" in line)
                return int(fields.get("count", "0"))
            time.sleep(0.2)
        return None


threads = [Client(n) for n in range(clients)]
for thread in threads:
    thread.start()

# The fault loop: one fault at a time, each followed by a recovery pause, so that faults never
# overlap (two at once can lose data by design: a session whose only copies died together).
events = []
rss = []  # (seconds, RSS of app node 1, which is never killed)
started = time.time()


def pause(duration):
    end = time.time() + duration
    while time.time() < end and time.time() - started < seconds:
        rss.append((time.time() - started, rss_kb(apps[0])))
        time.sleep(0.5)


step = 0
while time.time() - started < seconds:
    pause(4)
    if time.time() - started >= seconds:
        break
    fault = step % 3
    step += 1
    if fault < 2:
        n = fault
        stores[n].send_signal(signal.SIGKILL)
        stores[n].wait()
        events.append(f"{time.time() - started:6.1f}s SIGKILL store n{n + 1}")
        pause(3)
        stores[n] = start_store(n)
        events.append(f"{time.time() - started:6.1f}s store n{n + 1} restarted (empty)")
    else:
        apps[1].send_signal(signal.SIGKILL)
        apps[1].wait()
        events.append(f"{time.time() - started:6.1f}s SIGKILL app node 2")
        pause(3)
        apps[1] = start_app(1)
        events.append(f"{time.time() - started:6.1f}s app node 2 restarted")

stop.set()
for thread in threads:
    thread.join(timeout=10)
time.sleep(1.5)  # sticky writes after a failure are retried once a second

lost_clients = 0
lost_total = 0
extra_total = 0
for client in threads:
    final = client.final_count()
    if final is None:
        bad.append(f"client {client.number}: its session could not be read at the end")
        lost_clients += 1
        continue
    if final < client.acknowledged:
        lost_clients += 1
        lost_total += client.acknowledged - final
        bad.append(f"client {client.number}: final count {final}, {client.acknowledged} acknowledged increments")
    elif final > client.acknowledged + client.in_doubt + client.unavailable:
        bad.append(f"client {client.number}: final count {final} over {client.acknowledged} acknowledged + {client.in_doubt} in doubt")
    else:
        extra_total += final - client.acknowledged

for process in apps + stores:
    process.send_signal(signal.SIGTERM)
for process in apps + stores:
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()

values = [(t, r) for t, r in rss if r]
half = seconds / 2
first = max((r for t, r in values if t < half), default=0)
second = max((r for t, r in values if t >= half), default=0)
rss_grew = first > 0 and second > first * 1.5 + 20 * 1024
if rss_grew:
    bad.append(f"RSS of app node 1 grew from {first // 1024} MiB (first half) to {second // 1024} MiB (second half)")

print(f"\n### soak: {variant}{'' if variant == 'sticky' else ' + lockingMode=all'}, {store}, {'backups' if backups else 'NO backups (failoverNodes=n2)'}, {seconds:.0f} s, {clients} clients\n")
print("| what | value |")
print("|---|---|")
for key in ("requests", "ok", "lock503", "store503", "other5xx", "4xx", "refused", "in_doubt"):
    print(f"| {key} | {totals[key]} |")
print(f"| faults | {len(events)} events ({step} faults) |")
print(f"| increments lost | {lost_total} (in {lost_clients} of {clients} sessions) |")
print(f"| increments applied without an answer (in doubt, allowed) | {extra_total} |")
print(f"| RSS app node 1, max first half / second half | {first // 1024} / {second // 1024} MiB |")
print()
for event in events:
    print(f"    {event}")
if bad:
    print(f"\nFAILED ({len(bad)} problems):")
    for problem in bad[:20]:
        print(f"  {problem}")
    # The servers' own account of each 503 for the store (operation, node, nodes up, error).
    for n in (0, 1):
        with open(os.path.join(work, f"app{n}.log"), errors="replace") as log:
            lines = [line.rstrip() for line in log if "a request fails (503)" in line]
        for line in lines[:10]:
            print(f"  app node {n + 1}: {line[:600]}")
    print(f"  logs: {work}")
    sys.exit(1)
print("\nPASSED: no lost increment, no 5xx other than the lock-reject 503, RSS bounded")
