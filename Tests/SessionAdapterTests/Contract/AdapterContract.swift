import Foundation
import SessionManager
import SessionTesting
import Testing

/// What every framework adapter (Hummingbird, Vapor) must do, checked the same way for each: the
/// sample's routes with the adapter's middleware, served live in the test's process (``live``)
/// and as the adapter's sample executable (``executable``), against real store servers.
///
/// ``AdapterContractTests`` runs every check for every adapter the build has (its trait on).
struct AdapterContract: Sendable, CustomTestStringConvertible {
    /// Serves the sample's `/myapp` routes in this process with a context configured by
    /// `configure` (`jvmRoute` optional) and gives `body` its port and manager. The app also
    /// serves `/myapp/errors/…` and `/no-middleware` (see the adapter's test app).
    typealias LiveApp = @Sendable (
        _ jvmRoute: String?,
        _ configure: @escaping @Sendable (inout ManagerConfiguration) throws -> Void,
        _ body: @Sendable (_ port: Int, _ manager: SessionManager) async throws -> Void
    ) async throws -> Void

    /// The adapter's sample executable (`HummingbirdSample`, `VaporSample`).
    let executable: SampleExecutable
    /// The sample served in this process.
    let live: LiveApp

    /// The adapter's `Samples/cluster/run-local.sh` variant (two Redis, two app nodes, nginx
    /// round-robin) and the sample executables it runs (`HUMMINGBIRD_SAMPLE`, …).
    let clusterVariant: String
    let clusterSamples: @Sendable () throws -> [String: String]

    init(executable: String, clusterVariant: String, clusterSamples: @escaping @Sendable () throws -> [String: String], live: @escaping LiveApp) {
        self.executable = SampleExecutable(executable)
        self.clusterVariant = clusterVariant
        self.clusterSamples = clusterSamples
        self.live = live
    }

    var testDescription: String { executable.name }

    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]
    static var storesRunnable: Bool { kinds.allSatisfy(\.isRunnable) }

    /// One `GET` with an optional cookie.
    static func get(_ port: Int, _ path: String, cookie: String? = nil) async throws -> RawHTTPClient.Response {
        try await RawHTTPClient.get(port: port, path, headers: cookie.map { [("Cookie", $0)] } ?? [])
    }

    /// Store settings: `nodes` with `sticky`, and the other `<Manager>` settings of `configure`.
    static func settings(
        _ nodes: String,
        sticky: Bool,
        _ configure: @escaping @Sendable (inout ManagerConfiguration) -> Void = { _ in }
    ) -> @Sendable (inout ManagerConfiguration) throws -> Void {
        { manager in
            manager.memcachedNodes = try StoreNode.parseList(nodes)
            manager.sticky = sticky
            configure(&manager)
        }
    }

    /// The `memcachedNodes` entry of a store server.
    static func node(_ kind: StoreServerProcess.Kind, _ id: String, _ port: Int) -> String {
        if case .redis = kind { return "\(id):redis://127.0.0.1:\(port)" }
        return "\(id):127.0.0.1:\(port)"
    }

    /// A configuration file of one node: `/myapp` (`app`) on `nodes` with the `<Manager>` attributes `extra`.
    static func xml(port: Int, route: String, nodes: String, extra: String, app: String = "sample") -> String {
        """
        <Server>
          <Connector port="\(port)" address="127.0.0.1"/>
          <Engine jvmRoute="\(route)">
            <Context path="/myapp" app="\(app)"><Manager memcachedNodes="\(nodes)" \(extra)/></Context>
          </Engine>
        </Server>
        """
    }

    /// Starts the adapter's sample with the configuration `xml` and waits until it serves on `port`.
    func start(_ xml: String, port: Int) async throws -> Process {
        try await executable.startServing(xml, port: port)
    }

    // MARK: - Live in the test's process

    /// A read costs one store command non-sticky, none sticky; a route that never asks, none.
    func aReadCostsOneStoreCommandNonStickyNoneStickyAndAnUnaskedSessionNone(_ kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            for sticky in [false, true] {
                let nodes = Self.node(kind, "n1", server.port)
                try await live("node1", Self.settings(nodes, sticky: sticky)) { port, _ in
                    let created = try await Self.get(port, "/myapp/count")
                    let cookie = try #require(created.cookiePair)
                    #expect(created.fields["count"] == "1")
                    try await Task.sleep(for: .milliseconds(100))  // sticky: the write after the response
                    let before = try await server.sessionCommandCount()
                    let read = try await Self.get(port, "/myapp/read", cookie: cookie)
                    #expect(read.fields["count"] == "1")
                    #expect(read.cookiePair == nil, "a read sends no cookie")
                    #expect(try await server.sessionCommandCount() - before == (sticky ? 0 : 1), "sticky=\(sticky)")
                    let plain = try await Self.get(port, "/myapp/plain", cookie: cookie)
                    #expect(plain.status == 200)
                    #expect(try await server.sessionCommandCount() - before == (sticky ? 0 : 1), "/plain never asks: no command")
                }
            }
        }
    }

    /// `clients` clients, each on its own keep-alive connection to one of `ports` in turn, send
    /// `/myapp/count` with `cookie` until `each` are answered `200`; a `503` (a lock not had in
    /// time) is retried as a client honouring Retry-After would, only sooner. The answered total.
    static func increments(ports: [Int], clients: Int, each: Int, cookie: String) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for client in 0..<clients {
                let port = ports[client % ports.count]
                group.addTask {
                    try await RawHTTPClient.withConnection(port: port) { connection in
                        var done = 0
                        var attempts = 0
                        while done < each, attempts < 5000 {
                            attempts += 1
                            let response = try await connection.get("/myapp/count", headers: [("Cookie", cookie)])
                            if response.status == 200 {
                                done += 1
                            } else {
                                #expect(response.status == 503)
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                        return done
                    }
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// 16 clients, 200 increments each, on one session: every acknowledged increment counts.
    static func sixteenTimesTwoHundred(port: Int) async throws {
        let cookie = try #require(try await get(port, "/myapp/count").cookiePair)
        #expect(try await increments(ports: [port], clients: 16, each: 200, cookie: cookie) == 3200)
        #expect(try await get(port, "/myapp/read", cookie: cookie).fields["count"] == "3201")
    }

    /// 16 × 200 increments exact, sticky on the memory store.
    func sixteenClientsIncrementExactlyStickyOnTheMemoryStore() async throws {
        try await live(nil, { _ in }) { port, _ in try await Self.sixteenTimesTwoHundred(port: port) }
    }

    /// 16 × 200 increments exact, non-sticky on Redis, with and without locking.
    func sixteenClientsIncrementExactlyNonStickyOnRedis(locking: Bool) async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let settings = Self.settings(Self.node(.redis(), "n1", server.port), sticky: false) {
                if locking { $0.lockingMode = .all }
            }
            try await live(nil, settings) { port, _ in try await Self.sixteenTimesTwoHundred(port: port) }
        }
    }

    /// An unknown id is never adopted; ignored paths create, save and cost nothing.
    func anUnknownIdIsNeverAdoptedAndTheIgnorePatternCreatesAndSavesNothing() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            try await live(nil, Self.settings(Self.node(.redis(), "n1", server.port), sticky: false)) { port, manager in
                let forged = "JSESSIONID=" + String(repeating: "ab", count: 16) + "-n1"
                let read = try await Self.get(port, "/myapp/read", cookie: forged)
                #expect(read.fields["count"] == "0")
                #expect(read.cookiePair == nil, "a read of an unknown id makes no session")
                let counted = try await Self.get(port, "/myapp/count", cookie: forged)
                let issued = try #require(counted.cookiePair)
                #expect(issued != forged, "the client's id is never adopted")
                #expect(!issued.contains(String(repeating: "ab", count: 16)))

                let before = try await server.sessionCommandCount()
                let sessionsBefore = manager.activeSessionCount
                let file = try await Self.get(port, "/myapp/logo.png", cookie: issued)
                #expect(file.status == 200)
                #expect(file.cookiePair == nil)
                let style = try await Self.get(port, "/myapp/style.css")
                #expect(style.status == 200)
                #expect(style.cookiePair == nil, "an ignored path gets no session")
                #expect(try await server.sessionCommandCount() == before, "ignored paths cost no store command")
                #expect(manager.activeSessionCount == sessionsBefore)
            }
        }
    }

    /// A killed store node: the backup carries the session to the other node, with a new cookie.
    func aKilledStoreNodeMovesTheSessionWithANewCookie() async throws {
        try await StoreServerProcess.with(.redis()) { n1 in
            try await StoreServerProcess.with(.redis()) { n2 in
                let nodes = "\(Self.node(.redis(), "n1", n1.port)),\(Self.node(.redis(), "n2", n2.port))"
                try await live(nil, Self.settings(nodes, sticky: false)) { port, _ in
                    var cookie = try #require(try await Self.get(port, "/myapp/count").cookiePair)
                    #expect(try await Self.get(port, "/myapp/count", cookie: cookie).fields["count"] == "2")
                    let store = try #require(try await Self.get(port, "/myapp/read", cookie: cookie).fields["store"])
                    (store == "n1" ? n1 : n2).kill()
                    let moved = try await Self.get(port, "/myapp/count", cookie: cookie)
                    #expect(moved.fields["count"] == "3", "the backup on the other node carries the session")
                    cookie = try #require(moved.cookiePair, "the id names the new node: a new cookie")
                    #expect(moved.fields["store"] == (store == "n1" ? "n2" : "n1"))
                    #expect(try await Self.get(port, "/myapp/count", cookie: cookie).fields["count"] == "4")
                }
            }
        }
    }

    /// A store outage: `503` with `Retry-After` non-sticky; sticky, the resident session goes on.
    func aStoreOutageAnswers503NonStickyAndServesFromMemorySticky() async throws {
        for sticky in [false, true] {
            try await StoreServerProcess.with(.redis()) { server in
                let settings = Self.settings(Self.node(.redis(), "n1", server.port), sticky: sticky) { $0.operationTimeout = .milliseconds(300) }
                try await live("node1", settings) { port, _ in
                    let cookie = try #require(try await Self.get(port, "/myapp/count").cookiePair)
                    try await Task.sleep(for: .milliseconds(100))
                    server.kill()
                    let during = try await Self.get(port, "/myapp/count", cookie: cookie)
                    if sticky {
                        #expect(during.status == 200)
                        #expect(during.fields["count"] == "2", "the resident session goes on")
                    } else {
                        #expect(during.status == 503)
                        #expect(during.value("Retry-After") == "5")
                    }
                }
            }
        }
    }

    /// The handler's errors: the framework's HTTP error answers as the framework does, with the
    /// cookie of a session the request created (and without one otherwise); another error of a
    /// request that created its session, `500` with the cookie; a temporary session error, `503`;
    /// a route without the middleware has no session. The app serves these under `/myapp/errors/`.
    func handlerErrorsAreAnsweredWithTheCookieOfASessionTheyCreated() async throws {
        try await live(nil, { _ in }) { port, _ in
            let bad = try await Self.get(port, "/myapp/errors/created-then-http-error")
            #expect(bad.status == 400, "the handler's HTTP error answers")
            #expect(bad.cookiePair != nil, "with the cookie of the session it created")
            let conflict = try await Self.get(port, "/myapp/errors/http-error")
            #expect(conflict.status == 409)
            #expect(conflict.cookiePair == nil)
            let failed = try await Self.get(port, "/myapp/errors/created-then-failure")
            #expect(failed.status == 500)
            #expect(failed.cookiePair != nil)
            let unavailable = try await Self.get(port, "/myapp/errors/unavailable")
            #expect(unavailable.status == 503)
            #expect(unavailable.value("Retry-After") == "5")
            #expect(unavailable.body == "service unavailable: session store unavailable; retry later\n")
            #expect(try await Self.get(port, "/no-middleware").status == 500, "a route without the middleware has no session")
        }
    }
}
