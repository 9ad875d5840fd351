import Foundation
import Logging
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionStores
import SessionTesting
import Synchronization
import Testing

/// What the session layer does when clients or stores misbehave, over real sockets with the sample
/// app: planted cookies, a flood of new sessions, a store that dies or stops answering.
@Suite(.capturedLog, .timeLimit(.minutes(2))) struct SessionHardeningTests {
    /// The sample on port 0 with `store` and the given manager settings; `body` gets the port and the manager.
    func withSample<R: Sendable>(
        store: any SessionStore = MemorySessionStore(),
        logger: Logger = Logger(label: "test"),
        configure: (inout ManagerConfiguration) -> Void = { _ in },
        _ body: @Sendable (Int, SessionManager) async throws -> R
    ) async throws -> R {
        var configuration = try SampleServer.defaultConfiguration(port: 0)
        configure(&configuration.contexts[0].manager)
        let manager = SessionManager(configuration: configuration.contexts[0].manager, store: store, logger: logger)
        let context = MountedContext(
            path: "/myapp",
            app: try SampleApp(jvmRoute: nil),
            sessions: SessionMiddleware(manager: manager, cookie: .init(), contextPath: "/myapp", logger: logger)
        )
        let server = HTTPServer(connector: configuration.connector, contexts: [context], logger: logger)
        return try await LiveServer.with(server) { port in try await body(port, manager) }
    }

    // MARK: several cookies (finding 9)

    @Test(arguments: [false, true])
    func aPlantedCookieBeforeTheUsersOwnDoesNotLogThemOut(resident: Bool) async throws {
        let store = CountingSessionStore(MemorySessionStore(), isProcessLocal: resident)
        try await withSample(store: store) { port, _ in
            let first = try await RawHTTPClient.get(port: port, "/myapp/count")
            let mine = try #require(first.cookiePair)
            let planted = "JSESSIONID=0123456789ABCDEF0123456789ABCDEF"
            let second = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", "\(planted); \(mine)")])
            #expect(second.fields["count"] == "2", "the user's session, found after the unknown one")
            #expect(second.fields["id"] == first.fields["id"])
            #expect(second.values("Set-Cookie").isEmpty)
            // Also across two Cookie headers.
            let third = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", planted), ("Cookie", mine)])
            #expect(third.fields["count"] == "3")
            // At most three candidates: a fourth is not looked at (a request costs three reads at most).
            let others = (0..<3).map { "JSESSIONID=0123456789ABCDEF0123456789ABCDE\($0)" }.joined(separator: "; ")
            let bounded = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", "\(others); \(mine)")])
            #expect(bounded.fields["count"] == "1", "a new session")
        }
    }

    // MARK: maxActiveSessions (finding 3)

    @Test(arguments: [10, 2])
    func newSessionsAreRefusedAtTheLimitAndExistingOnesKeepWorking(residentLimit: Int) async throws {
        // With a resident limit of 2, most sessions have left memory for the memory store: they count too.
        try await withSample(configure: { $0.maxActiveSessions = 5; $0.residentSessionLimit = residentLimit }) { port, manager in
            var cookies: [String] = []
            for _ in 0..<5 {
                let response = try await RawHTTPClient.get(port: port, "/myapp/count")
                #expect(response.status == 200)
                cookies.append(try #require(response.cookiePair))
            }
            let refused = try await RawHTTPClient.get(port: port, "/myapp/count")
            #expect(refused.status == 503)
            #expect(refused.value("Retry-After") == "5")
            #expect(refused.body.contains("too many sessions"))
            #expect(refused.values("Set-Cookie").isEmpty)
            #expect(manager.rejectedSessionCount == 1)
            // The users who have a session are not affected, and pages without a session neither.
            for cookie in cookies {
                #expect(try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)]).fields["count"] == "2")
            }
            #expect(try await RawHTTPClient.get(port: port, "/myapp/read").status == 200)
            #expect(try await RawHTTPClient.get(port: port, "/myapp/plain").status == 200)
        }
    }

    @Test func expiredSessionsMakeRoomFirst() async throws {
        // Three seconds: enough for four requests on a loaded machine, so the fourth finds the
        // first three alive.
        try await withSample(configure: { $0.maxActiveSessions = 3; $0.maxInactiveInterval = 3 }) { port, manager in
            for _ in 0..<3 { #expect(try await RawHTTPClient.get(port: port, "/myapp/count").status == 200) }
            #expect(try await RawHTTPClient.get(port: port, "/myapp/count").status == 503)
            try await Task.sleep(for: .milliseconds(3200))
            // A second since the last removal pass has passed as well.
            #expect(try await RawHTTPClient.get(port: port, "/myapp/count").status == 200, "the expired ones were removed")
            #expect(manager.rejectedSessionCount == 1)
        }
    }

    @Test func theLimitIsLoggedOnceNotPerRefusal() async throws {
        let capture = LogCapture()
        try await withSample(logger: capture.logger(), configure: { $0.maxActiveSessions = 1 }) { (port: Int, manager: SessionManager) async throws in
            #expect(try await RawHTTPClient.get(port: port, "/myapp/count").status == 200)
            for _ in 0..<20 { #expect(try await RawHTTPClient.get(port: port, "/myapp/count").status == 503) }
            #expect(manager.rejectedSessionCount == 20)
            #expect(capture.records(.warning, containing: "session limit reached").count == 1)
            #expect(capture.all.filter { $0.level >= .warning }.count == 1, "\(capture.all.map(\.message))")
        }
    }

    // MARK: store outages (finding 4)

    static let kinds: [StoreServerProcess.Kind] = [.memcached(), .redis()]

    static func node(_ kind: StoreServerProcess.Kind, port: Int) throws -> [StoreNode] {
        switch kind {
        case .memcached: try StoreNode.parseList("127.0.0.1:\(port)")
        default: try StoreNode.parseList("redis://127.0.0.1:\(port)")
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable), "memcached and redis-server needed"), arguments: kinds)
    func aDeadStoreGets503WithRetryAfterAndIsLoggedOnce(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            let capture = LogCapture()
            var manager = ManagerConfiguration()
            manager.sticky = false  // every request needs the store (sticky mode serves from memory)
            manager.memcachedNodes = try Self.node(kind, port: server.port)
            manager.operationTimeout = .milliseconds(300)
            let store = try SessionStores.make(for: manager, logger: capture.logger(level: .info))
            try await withSample(store: store, logger: capture.logger(level: .info), configure: { $0 = manager }) { port, _ in
                let first = try await RawHTTPClient.get(port: port, "/myapp/count")
                #expect(first.fields["count"] == "1")
                let cookie = try #require(first.cookiePair)

                server.kill()
                for _ in 0..<30 {
                    let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
                    #expect(response.status == 503)
                    #expect(response.value("Retry-After") == "5")
                    #expect(response.body.contains("session store unavailable"))
                }
                // A new session cannot be saved either: no cookie for a session that does not exist.
                let fresh = try await RawHTTPClient.get(port: port, "/myapp/count")
                #expect(fresh.status == 503)
                #expect(fresh.values("Set-Cookie").isEmpty)
                #expect(try await RawHTTPClient.get(port: port, "/myapp/plain").status == 200, "pages without a session still work")
                #expect(capture.records(.warning, containing: "session store unavailable").count == 1)
                #expect(capture.all.filter { $0.level >= .error }.isEmpty, "no error line per request")
                #expect(capture.all.filter { $0.level == .warning }.count <= 2, "the manager's and the node's, once each")

                try await server.restart()
                var back: RawHTTPClient.Response?
                for _ in 0..<50 {
                    back = try await RawHTTPClient.get(port: port, "/myapp/count")
                    if back?.status == 200 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(back?.status == 200)
                #expect(capture.records(.notice, containing: "session store available again").count == 1)
            }
        }
    }

    @Test(.enabled(if: StoreServerProcess.Kind.memcached().isRunnable, "memcached needed"))
    func aStoreThatStopsAnsweringGets503AfterTheOperationTimeout() async throws {
        try await StoreServerProcess.with(.memcached()) { server in
            var manager = ManagerConfiguration()
            manager.sticky = false  // every request needs the store (sticky mode serves from memory)
            manager.memcachedNodes = try Self.node(.memcached(), port: server.port)
            manager.operationTimeout = .milliseconds(200)
            let store = try SessionStores.make(for: manager, logger: Logger(label: "test"))
            try await withSample(store: store, configure: { $0 = manager }) { port, _ in
                let cookie = try #require(try await RawHTTPClient.get(port: port, "/myapp/count").cookiePair)
                await server.suspend()
                defer { server.resume() }
                let start = ContinuousClock.now
                let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
                #expect(response.status == 503)
                #expect(ContinuousClock.now - start < .seconds(3))
            }
        }
    }

    @Test func aWriteThatFailsAfterTheReadGets503NotAStaleCount() async throws {
        let store = FailingWritesStore(MemorySessionStore())
        try await withSample(store: store, configure: { $0.sticky = false }) { port, _ in
            let first = try await RawHTTPClient.get(port: port, "/myapp/count")
            let cookie = try #require(first.cookiePair)
            store.failWrites(true)
            let failed = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
            #expect(failed.status == 503, "the answer would say count=2 while the store holds 1")
            store.failWrites(false)
            #expect(try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)]).fields["count"] == "2")
        }
    }
}
