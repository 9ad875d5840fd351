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
    static func withNodes(_ store: Store, sticky: Bool, _ body: ([Int]) async throws -> Void) async throws {
        // Redis: the default interval (5 s), so that only the notice can log a sticky node's
        // copy out within the test's 100 ms.
        let revalidation = store == .memcached ? #" residentRevalidationInterval="1""# : ""
        func run(_ nodes: String) async throws {
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
            try await body(ports)
        }
        switch store {
        case .redisCluster:
            try await RedisClusterTests.withCluster(masters: 3) { cluster in try await run("redis-cluster://" + cluster.seeds) }
        case .redis, .memcached:
            try await StoreServerProcess.with(store.kind) { server in
                try await run(store == .redis ? "n1:redis://127.0.0.1:\(server.port)" : "n1:127.0.0.1:\(server.port)")
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
}
