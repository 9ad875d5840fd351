#if HummingbirdSupport
import Foundation
import SessionManager
import SessionTesting
import Testing

/// The Hummingbird middleware against real stores: the app served live in this process, and the
/// `HummingbirdSample` executable as several processes.
@Suite(.capturedLog, .serialized) struct ClusterSessionMiddlewareTests {
    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]
    static var storesRunnable: Bool { kinds.allSatisfy(\.isRunnable) }

    /// One `GET` with an optional cookie; the answer's fields, `Set-Cookie` pair and headers.
    static func get(_ port: Int, _ path: String, cookie: String? = nil) async throws -> RawHTTPClient.Response {
        try await RawHTTPClient.get(port: port, path, headers: cookie.map { [("Cookie", $0)] } ?? [])
    }

    /// Store settings: `nodes` with `sticky`, and the other `<Manager>` settings of `configure`.
    static func settings(_ nodes: String, sticky: Bool, _ configure: @escaping (inout ManagerConfiguration) -> Void = { _ in }) -> (inout ManagerConfiguration) throws -> Void {
        { manager in
            manager.memcachedNodes = try StoreNode.parseList(nodes)
            manager.sticky = sticky
            configure(&manager)
        }
    }

    @Test(.enabled(if: storesRunnable), arguments: kinds)
    func aReadCostsOneStoreCommandNonStickyNoneStickyAndAnUnaskedSessionNone(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { server in
            for sticky in [false, true] {
                let nodes = HummingbirdTestApp.node(kind, "n1", server.port)
                try await HummingbirdTestApp.with(jvmRoute: "node1", configure: Self.settings(nodes, sticky: sticky)) { port, _ in
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
        let cookie = try #require(try await Self.get(port, "/myapp/count").cookiePair)
        #expect(try await increments(ports: [port], clients: 16, each: 200, cookie: cookie) == 3200)
        #expect(try await Self.get(port, "/myapp/read", cookie: cookie).fields["count"] == "3201")
    }

    /// Two `HummingbirdSample` processes (routes node1 and node2) on one store server of `kind`,
    /// with the `<Manager>` attributes `extra`; `body` gets their ports.
    static func withTwoProcesses(_ kind: StoreServerProcess.Kind, extra: String, _ body: ([Int]) async throws -> Void) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = HummingbirdTestApp.node(kind, "n1", server.port)
            let ports = [try FreePort.make(), try FreePort.make()]
            var processes: [Process] = []
            defer { processes.forEach { $0.terminate() } }
            for (index, port) in ports.enumerated() {
                let xml = HummingbirdProcess.xml(port: port, route: "node\(index + 1)", nodes: nodes, extra: extra)
                processes.append(try await HummingbirdProcess.start(xml, port: port))
            }
            try await body(ports)
        }
    }

    @Test func sixteenClientsIncrementExactlyStickyOnTheMemoryStore() async throws {
        try await HummingbirdTestApp.with { port, _ in try await Self.sixteenTimesTwoHundred(port: port) }
    }

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable), arguments: [false, true])
    func sixteenClientsIncrementExactlyNonStickyOnRedis(locking: Bool) async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let settings = Self.settings(HummingbirdTestApp.node(.redis(), "n1", server.port), sticky: false) {
                if locking { $0.lockingMode = .all }
            }
            try await HummingbirdTestApp.with(configure: settings) { port, _ in try await Self.sixteenTimesTwoHundred(port: port) }
        }
    }

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func anUnknownIdIsNeverAdoptedAndTheIgnorePatternCreatesAndSavesNothing() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            try await HummingbirdTestApp.with(configure: Self.settings(HummingbirdTestApp.node(.redis(), "n1", server.port), sticky: false)) { port, manager in
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

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func aKilledStoreNodeMovesTheSessionWithANewCookie() async throws {
        try await StoreServerProcess.with(.redis()) { n1 in
            try await StoreServerProcess.with(.redis()) { n2 in
                let nodes = "\(HummingbirdTestApp.node(.redis(), "n1", n1.port)),\(HummingbirdTestApp.node(.redis(), "n2", n2.port))"
                try await HummingbirdTestApp.with(configure: Self.settings(nodes, sticky: false)) { port, _ in
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

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func aStoreOutageAnswers503NonStickyAndServesFromMemorySticky() async throws {
        for sticky in [false, true] {
            try await StoreServerProcess.with(.redis()) { server in
                let settings = Self.settings(HummingbirdTestApp.node(.redis(), "n1", server.port), sticky: sticky) { $0.operationTimeout = .milliseconds(300) }
                try await HummingbirdTestApp.with(jvmRoute: "node1", configure: settings) { port, _ in
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

    @Test func handlerErrorsAreAnsweredWithTheCookieOfASessionTheyCreated() async throws {
        try await HummingbirdTestApp.with { port, _ in
            let bad = try await Self.get(port, "/myapp/errors/created-then-http-error")
            #expect(bad.status == 400, "the handler's HTTPError answers")
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

    @Test func theSampleConfigurationFileConfiguresTheMiddleware() async throws {
        let port = try FreePort.make()
        let xml = """
            <Server>
              <Connector port="\(port)" address="127.0.0.1"/>
              <Engine jvmRoute="hb1">
                <Context path="/myapp" app="sample" sessionCookieName="SID" sessionCookieSameSite="Strict">
                  <Manager requestUriIgnorePattern=".*\\.(png|css)$"/>
                </Context>
              </Engine>
            </Server>
            """
        let process = try await HummingbirdProcess.start(xml, port: port)
        defer { process.terminate() }
        let created = try await Self.get(port, "/myapp/count")
        let setCookie = try #require(created.value("Set-Cookie"))
        #expect(setCookie.hasPrefix("SID="))
        #expect(setCookie.hasSuffix("; Path=/myapp; HttpOnly; SameSite=Strict"))
        #expect(created.fields["route"] == "hb1")
        #expect(created.fields["id"]?.hasSuffix(".hb1") == true)
        let page = try await Self.get(port, "/myapp/", cookie: created.cookiePair)
        #expect(page.body.contains("<b>2</b>"), "the page counts")
        #expect(try await Self.get(port, "/myapp/logo.png").cookiePair == nil)
    }

    @Test func aBadConfigurationFileIsRefusedWithItsPosition() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hb-bad-\(UUID().uuidString).xml").path
        try "<Server>\n  <Connector port=\"80x\"/>\n  <Engine><Context path=\"/myapp\" app=\"sample\"/></Engine>\n</Server>\n".write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try HummingbirdProcess.executable()
        process.arguments = ["--config", path]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(text.contains("\(path):2:"), "\(text)")
    }

    @Test(.enabled(if: storesRunnable), arguments: kinds)
    func twoProcessesWithRoutesTakeASessionOverAndBack(kind: StoreServerProcess.Kind) async throws {
        try await Self.withTwoProcesses(kind, extra: "") { ports in
            var cookie: String?
            for request in 1...5 {
                let port = ports[(request - 1) % 2]
                let response = try await Self.get(port, "/myapp/count", cookie: cookie)
                #expect(response.fields["count"] == "\(request)")
                #expect(response.fields["route"] == "node\((request - 1) % 2 + 1)")
                if request > 1 { #expect(response.cookiePair != nil, "a takeover renames the session: a new cookie") }
                cookie = response.cookiePair ?? cookie
                #expect(cookie?.hasSuffix(".node\((request - 1) % 2 + 1)") == true, "\(cookie ?? "")")
            }
        }
    }

    /// One cluster, two HTTP layers: a HummingbirdSample and a SessionSample (the bundled server)
    /// on one store read the same sessions (same ids, keys and transcoder), sticky and not.
    @Test(.enabled(if: storesRunnable), arguments: kinds, [false, true])
    func aHummingbirdNodeAndABundledServerNodeShareASession(kind: StoreServerProcess.Kind, sticky: Bool) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = HummingbirdTestApp.node(kind, "n1", server.port)
            let ports = [try FreePort.make(), try FreePort.make()]
            let extra = #"sticky="\#(sticky)""#
            let hummingbird = try await HummingbirdProcess.start(HummingbirdProcess.xml(port: ports[0], route: "hb", nodes: nodes, extra: extra), port: ports[0])
            defer { hummingbird.terminate() }
            let bundled = try await HummingbirdProcess.start(
                HummingbirdProcess.xml(port: ports[1], route: "bundled", nodes: nodes, extra: extra),
                port: ports[1],
                executable: "SessionSample"
            )
            defer { bundled.terminate() }
            var cookie: String?
            for request in 1...6 {
                let response = try await Self.get(ports[(request - 1) % 2], "/myapp/count", cookie: cookie)
                #expect(response.fields["count"] == "\(request)", "sticky=\(sticky), request \(request) on \(response.fields["route"] ?? "?")")
                #expect(response.fields["route"] == ((request - 1) % 2 == 0 ? "hb" : "bundled"))
                cookie = response.cookiePair ?? cookie
            }
        }
    }

    /// The managers are services of the application: on SIGTERM the server stops first, then the
    /// managers, and the process ends by itself; sticky changes written after their answers are
    /// in the store for the next process.
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func aStickyNodeStopsCleanlyAndItsSuccessorContinuesTheCount() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let port = try FreePort.make()
            let xml = HummingbirdProcess.xml(port: port, route: "node1", nodes: HummingbirdTestApp.node(.redis(), "n1", server.port), extra: "")
            let first = try await HummingbirdProcess.start(xml, port: port)
            var cookie: String?
            for expected in 1...3 {
                let response = try await Self.get(port, "/myapp/count", cookie: cookie)
                #expect(response.fields["count"] == "\(expected)")
                cookie = response.cookiePair ?? cookie
            }
            first.terminate()
            let deadline = ContinuousClock.now + .seconds(15)
            while first.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!first.isRunning, "SIGTERM ends the process: the server, then the managers, stop")
            #expect(first.terminationStatus == 0)
            let second = try await HummingbirdProcess.start(xml, port: port)
            defer { second.terminate() }
            #expect(try await Self.get(port, "/myapp/count", cookie: cookie).fields["count"] == "4")
        }
    }

    @Test(.enabled(if: storesRunnable), arguments: kinds)
    func lockingAllLosesNoIncrementAcrossTwoProcesses(kind: StoreServerProcess.Kind) async throws {
        try await Self.withTwoProcesses(kind, extra: #"sticky="false" lockingMode="all""#) { ports in
            let cookie = try #require(try await Self.get(ports[0], "/myapp/count").cookiePair)
            #expect(try await Self.increments(ports: ports, clients: 16, each: 50, cookie: cookie) == 800)
            #expect(try await Self.get(ports[1], "/myapp/read", cookie: cookie).fields["count"] == "801")
        }
    }
}
#endif
