import Foundation
import SessionTesting
import Testing

/// A user's sessions with the sample as a user runs it: two app processes on real stores (Redis,
/// a 3-master Redis Cluster, memcached), sticky and not. Four sessions of one user, two on each
/// node; `POST /myapp/logout-others` from one of them; every other one answers as logged out on
/// its next request on either node (Redis: within 100 ms, by its notice; memcached: within the
/// revalidation interval), and a slow request of one of them does not bring it back.
@Suite(.capturedLog, .serialized) struct PrincipalProcessTests {
    enum Store: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case redis, redisCluster, memcached
        var testDescription: String { rawValue }
        var kind: StoreServerProcess.Kind { self == .memcached ? .memcached() : .redis() }
    }

    /// Two sample processes (routes `node1`, `node2`) on one store; `body` gets their ports.
    static func withNodes(_ store: Store, sticky: Bool, extra: String = "", _ body: ([Int]) async throws -> Void) async throws {
        try await withNodes(store, sticky: sticky, extra: extra) { ports, _ in try await body(ports) }
    }

    /// The same; `body` also gets the store server (`nil` for the cluster), to count its commands.
    static func withNodes(_ store: Store, sticky: Bool, extra: String = "", _ body: ([Int], StoreServerProcess?) async throws -> Void) async throws {
        // Redis: the default interval (5 s), so that only the notice can log a sticky node's
        // copy out within the test's 100 ms.
        let revalidation = (store == .memcached ? #" residentRevalidationInterval="1""# : "") + extra
        func run(_ nodes: String, _ server: StoreServerProcess?) async throws {
            let ports = try (0..<2).map { _ in try FreePort.make() }
            var processes: [Process] = []
            defer { for process in processes { process.terminate() } }
            for (index, port) in ports.enumerated() {
                let xml = """
                    <Server>
                      <Connector port="\(port)" address="127.0.0.1"/>
                      <Engine jvmRoute="node\(index + 1)">
                        <Context path="/myapp" app="sample"><Manager memcachedNodes="\(nodes)" sticky="\(sticky)"\(revalidation)/></Context>
                      </Engine>
                    </Server>
                    """
                processes.append(try await SampleExecutable("SessionSample").startServing(xml, port: port))
            }
            try await body(ports, server)
        }
        switch store {
        case .redisCluster:
            try await RedisClusterTests.withCluster(masters: 3) { cluster in try await run("redis-cluster://" + cluster.seeds, nil) }
        case .redis, .memcached:
            try await StoreServerProcess.with(store.kind) { server in
                try await run(store == .redis ? "n1:redis://127.0.0.1:\(server.port)" : "n1:127.0.0.1:\(server.port)", server)
            }
        }
    }

    static func get(_ port: Int, _ path: String, _ cookie: String?) async throws -> RawHTTPClient.Response {
        try await RawHTTPClient.get(port: port, path, headers: cookie.map { [("Cookie", $0)] } ?? [])
    }

    /// A new session on `port`, logged in as `user`: its cookie.
    static func logIn(_ port: Int, _ user: String) async throws -> String {
        let first = try await get(port, "/myapp/count", nil)
        let anonymous = try #require(first.cookiePair)
        let login = try await get(port, "/myapp/login?user=\(user)", anonymous)
        #expect(login.status == 200, "\(login.body)")
        return try #require(login.cookiePair)
    }

    /// `POST /myapp/logout-others` with `headers`.
    static func postLogoutOthers(_ port: Int, _ cookie: String, headers: [(String, String)] = []) async throws -> RawHTTPClient.Response {
        try await RawHTTPClient.withConnection(port: port) { client in
            var request = "POST /myapp/logout-others HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nCookie: \(cookie)\r\nContent-Length: 0\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            try await client.send(request + "\r\n")
            return try await client.readResponse()
        }
    }

    @Test(arguments: Store.allCases, [true, false])
    func logOutTheOtherSessionsOnEveryNode(store: Store, sticky: Bool) async throws {
        guard store.kind.isRunnable else {
            Issue.record("\(store) is not installed: run Scripts/install-dependencies.sh test")
            return
        }
        try await Self.withNodes(store, sticky: sticky) { ports in
            var sessions: [(cookie: String, port: Int)] = []
            for port in [ports[0], ports[0], ports[1], ports[1]] { sessions.append((try await Self.logIn(port, "alice"), port)) }
            for (cookie, port) in sessions {
                let read = try await Self.get(port, "/myapp/read", cookie)
                #expect(read.fields["user"] == "alice", "\(store) sticky=\(sticky): logged in on its node")
            }
            let listed = try await Self.get(ports[1], "/myapp/sessions", sessions[0].cookie)
            #expect(listed.body.split(separator: "\n").count == 4, "every node lists the four sessions: \(listed.body)")

            let crossSite = try await Self.postLogoutOthers(ports[0], sessions[0].cookie, headers: [("Origin", "https://evil.example")])
            #expect(crossSite.status == 403, "a cross-site POST is refused")
            let evilReferer = try await Self.postLogoutOthers(ports[0], sessions[0].cookie, headers: [("Referer", "https://evil.example/page")])
            #expect(evilReferer.status == 403)
            #expect(try await Self.get(ports[1], "/myapp/read", sessions[2].cookie).fields["user"] == "alice", "nothing happened")

            let done = try await Self.postLogoutOthers(ports[0], sessions[0].cookie)
            #expect(done.status == 200 && done.fields["invalidated"] == "3", "\(done.body)")
            // Redis: the notice reaches the sticky node's memory at once; memcached: the next
            // request after the revalidation interval (1 s here) looks for the tombstone.
            try await Task.sleep(for: store == .memcached ? .milliseconds(1100) : .milliseconds(100))
            for (cookie, port) in sessions.dropFirst() {
                let own = try await Self.get(port, "/myapp/read", cookie)
                #expect(own.fields["user"] == "", "\(store) sticky=\(sticky): logged out on its own node: \(own.body)")
                let other = try await Self.get(port == ports[0] ? ports[1] : ports[0], "/myapp/read", cookie)
                #expect(other.fields["user"] == "", "and on the other node")
            }
            let kept = try await Self.get(ports[0], "/myapp/read", sessions[0].cookie)
            #expect(kept.fields["user"] == "alice", "the current session stays")
        }
    }

    @Test(arguments: [Store.redis, .memcached], [true, false])
    func aSlowRequestDoesNotBringBackAnInvalidatedSession(store: Store, sticky: Bool) async throws {
        guard store.kind.isRunnable else {
            Issue.record("\(store) is not installed: run Scripts/install-dependencies.sh test")
            return
        }
        try await Self.withNodes(store, sticky: sticky) { ports in
            let current = try await Self.logIn(ports[0], "bob")
            let doomed = try await Self.logIn(ports[1], "bob")
            async let slow = Self.get(ports[1], "/myapp/sleep?ms=500&count", doomed)
            try await Task.sleep(for: .milliseconds(150))
            let done = try await Self.postLogoutOthers(ports[0], current, headers: [("Origin", "http://127.0.0.1:\(ports[0])")])
            #expect(done.status == 303, "the page's button goes back to the page")
            let slowAnswer = try await slow
            #expect(slowAnswer.status == 200)
            try await Task.sleep(for: .milliseconds(store == .memcached ? 1100 : 200))
            for port in ports {
                let read = try await Self.get(port, "/myapp/read", doomed)
                #expect(read.fields["user"] == "" && read.fields["count"] == "0", "\(store) sticky=\(sticky): still gone after the slow request: \(read.body)")
            }
        }
    }

    /// 20 simultaneous logins of one user over the two processes, `maxSessionsPerPrincipal="3"`:
    /// exactly 3 sessions stay logged in (read back through both nodes) and in the index; 20 rounds.
    @Test(arguments: [Store.redis, .memcached], [false, true])
    func simultaneousLoginsNeverLeaveMoreThanTheLimit(store: Store, sticky: Bool) async throws {
        guard store.kind.isRunnable else {
            Issue.record("\(store) is not installed: run Scripts/install-dependencies.sh test")
            return
        }
        try await Self.withNodes(store, sticky: sticky, extra: #" maxSessionsPerPrincipal="3""#) { ports in
            for round in 0..<20 {
                let user = "racer\(round)"
                var anonymous: [(cookie: String, port: Int)] = []
                for index in 0..<20 {
                    let port = ports[index % 2]
                    anonymous.append((try #require(try await Self.get(port, "/myapp/count", nil).cookiePair), port))
                }
                let cookies = try await withThrowingTaskGroup(of: (String, Int)?.self) { group in
                    for (cookie, port) in anonymous {
                        group.addTask {
                            let login = try await Self.get(port, "/myapp/login?user=\(user)", cookie)
                            return login.cookiePair.map { ($0, port) }
                        }
                    }
                    var cookies: [(String, Int)] = []
                    for try await cookie in group { if let cookie { cookies.append(cookie) } }
                    return cookies
                }
                #expect(cookies.count == 20)
                // Evicted sessions resident on the other node go with its notice (Redis) or its
                // next revalidation (memcached, 1 s here).
                try await Task.sleep(for: .milliseconds(store == .memcached ? 1100 : 200))
                var loggedIn: [String] = []
                for (cookie, port) in cookies where try await Self.get(port, "/myapp/read", cookie).fields["user"] == user {
                    loggedIn.append(cookie)
                }
                #expect(loggedIn.count == 3, "\(store) sticky=\(sticky) round \(round): \(loggedIn.count) sessions logged in")
                if let survivor = loggedIn.first {
                    let listed = try await Self.get(ports[0], "/myapp/sessions", survivor)
                    #expect(listed.body.split(separator: "\n").count == 3, "the index holds the limit: \(listed.body)")
                }
            }
        }
    }

    /// The store commands of a logged-in session's requests, counted by Redis: the same as an
    /// anonymous session's (non-sticky read 1, change 2; sticky read 0, change 1), plus the index
    /// refresh on a node that has not refreshed it for a quarter of the timeout, and a sticky
    /// node's revalidation once per interval.
    @Test(arguments: [false, true])
    func aLoggedInSessionCostsNoExtraCommands(sticky: Bool) async throws {
        try await Self.withNodes(.redis, sticky: sticky, extra: #" residentRevalidationInterval="1""#) { ports, server in
            let server = try #require(server)
            let cookie = try await Self.logIn(ports[0], "carol")
            try await Task.sleep(for: .milliseconds(300))  // the sticky write after the login's answer
            func cost(_ path: String, times: Int = 10, port: Int? = nil) async throws -> Int {
                let before = try await server.sessionCommandCount()
                for _ in 0..<times { _ = try await Self.get(port ?? ports[0], "/myapp/" + path, cookie) }
                try await Task.sleep(for: .milliseconds(100))
                return try await server.sessionCommandCount() - before
            }
            if sticky {
                // Counted on the session's own keys (MONITOR): the route lease's renewals share
                // the server. Sticky writes after the answer, and a write under way covers the
                // changes made meanwhile (fewer writes than changes).
                let random = String(try #require(cookie.split(separator: "=").last).prefix(32))
                // Besides: a tombstone lookup (GET) at most once per interval (1 s here).
                func revalidations(_ commands: [String], _ elapsed: Duration) -> Bool {
                    commands.filter { $0 == "GET" }.count <= Int(elapsed / .seconds(1)) + 1
                }
                let (read, readTime) = try await Self.monitored(server, random: random) {
                    for _ in 0..<10 { _ = try await Self.get(ports[0], "/myapp/read", cookie) }
                }
                #expect(read.allSatisfy { $0 == "GET" } && revalidations(read, readTime), "reads from memory: \(read)")
                let (changed, changeTime) = try await Self.monitored(server, random: random) {
                    for _ in 0..<10 { _ = try await Self.get(ports[0], "/myapp/count", cookie) }
                }
                let sets = changed.filter { $0 == "SET" }.count
                #expect((1...10).contains(sets) && changed.allSatisfy { $0 == "SET" || $0 == "GET" } && revalidations(changed, changeTime), "at most one SET per change: \(changed)")
                try await Task.sleep(for: .milliseconds(1100))
                let (revalidated, _) = try await Self.monitored(server, random: random) {
                    for _ in 0..<2 { _ = try await Self.get(ports[0], "/myapp/read", cookie) }
                }
                #expect(revalidated == ["GET"], "one tombstone lookup per residentRevalidationInterval: \(revalidated)")
            } else {
                let reads = try await cost("read")
                let changes = try await cost("count")
                #expect(reads == 10, "\(reads) commands for 10 reads")
                #expect(changes == 20, "\(changes) commands for 10 changes")
                // The other node has not refreshed this session's index entry yet: its first
                // request reads the index (and rewrites it by script, not counted here).
                let countsBefore = try await server.commandCounts()
                for _ in 0..<10 { _ = try await Self.get(ports[1], "/myapp/read", cookie) }
                try await Task.sleep(for: .milliseconds(100))
                let countsAfter = try await server.commandCounts()
                let delta = countsAfter.filter { countsBefore[$0.key] != $0.value }.mapValues { $0 }.reduce(into: [String: Int]()) { $0[$1.key] = $1.value - (countsBefore[$1.key] ?? 0) }
                // Redis counts the script's own GET and SET too.
                #expect(delta == ["getex": 10, "get": 2, "eval": 1, "set": 1], "10 reads and one refresh of the index (a GET and a script): \(delta)")
            }
        }
    }

    /// The commands Redis ran on the keys of the session with this random part (its copy, its
    /// tombstone) while `body` ran, by name, as `redis-cli MONITOR` shows them (scripts' inner
    /// commands left out), and how long `body` took.
    static func monitored(_ server: StoreServerProcess, random: String, _ body: () async throws -> Void) async throws -> ([String], Duration) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("monitor-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let monitor = Process()
        monitor.executableURL = URL(fileURLWithPath: try #require(ChildProcess.find("redis-cli")))
        monitor.arguments = ["-p", String(server.port), "MONITOR"]
        monitor.standardOutput = try FileHandle(forWritingTo: output)
        try monitor.run()
        defer { monitor.terminate() }
        while (try? String(contentsOf: output, encoding: .utf8))?.hasPrefix("OK") != true { try await Task.sleep(for: .milliseconds(20)) }
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        try await Task.sleep(for: .milliseconds(300))  // sticky writes after the answers
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        let commands = lines.filter { $0.contains("{\(random)}") && !$0.contains(" lua]") }.compactMap { line in
            line.split(separator: "\"").dropFirst().first.map(String.init)
        }
        return (commands, elapsed)
    }
}
