import Foundation
import SessionManager
import SessionTesting
import Testing

/// The checks of ``AdapterContract`` on the adapter's sample executable, as a user runs it.
extension AdapterContract {
    /// Two sample processes (routes node1 and node2) on one store server of `kind`, with the
    /// `<Manager>` attributes `extra`; `body` gets their ports.
    func withTwoProcesses(_ kind: StoreServerProcess.Kind, extra: String, _ body: ([Int]) async throws -> Void) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = Self.node(kind, "n1", server.port)
            let ports = [try FreePort.make(), try FreePort.make()]
            var processes: [Process] = []
            defer { processes.forEach { $0.terminate() } }
            for (index, port) in ports.enumerated() {
                processes.append(try await start(Self.xml(port: port, route: "node\(index + 1)", nodes: nodes, extra: extra), port: port))
            }
            try await body(ports)
        }
    }

    /// The configuration file sets the cookie, the route, the ignore pattern; the page counts.
    func theSampleConfigurationFileConfiguresTheMiddleware() async throws {
        let route = "adapter1"
        let port = try FreePort.make()
        let xml = """
            <Server>
              <Connector port="\(port)" address="127.0.0.1"/>
              <Engine jvmRoute="\(route)">
                <Context path="/myapp" app="sample" sessionCookieName="SID" sessionCookieSameSite="Strict">
                  <Manager requestUriIgnorePattern=".*\\.(png|css)$"/>
                </Context>
              </Engine>
            </Server>
            """
        let process = try await start(xml, port: port)
        defer { process.terminate() }
        let created = try await Self.get(port, "/myapp/count")
        let setCookie = try #require(created.value("Set-Cookie"))
        #expect(setCookie.hasPrefix("SID="))
        #expect(setCookie.hasSuffix("; Path=/myapp; HttpOnly; SameSite=Strict"))
        #expect(created.fields["route"] == route)
        #expect(created.fields["id"]?.hasSuffix(".\(route)") == true)
        let page = try await Self.get(port, "/myapp/", cookie: created.cookiePair)
        #expect(page.body.contains("<b>2</b>"), "the page counts")
        #expect(try await Self.get(port, "/myapp/logo.png").cookiePair == nil)
    }

    /// A bad file stops the sample with exit status 2 and `file:line:column`.
    func aBadConfigurationFileIsRefusedWithItsPosition() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-bad-\(UUID().uuidString).xml").path
        try "<Server>\n  <Connector port=\"80x\"/>\n  <Engine><Context path=\"/myapp\" app=\"sample\"/></Engine>\n</Server>\n".write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try executable.url()
        process.arguments = ["--config", path]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(text.contains("\(path):2:"), "\(text)")
    }

    /// Two processes with routes: the session is taken over at each request, with a new cookie.
    func twoProcessesWithRoutesTakeASessionOverAndBack(_ kind: StoreServerProcess.Kind) async throws {
        try await withTwoProcesses(kind, extra: "") { ports in
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

    /// One cluster, two HTTP layers: the adapter's sample and a SessionSample (the bundled server)
    /// on one store read the same sessions (same ids, keys and transcoder), sticky and not.
    func anAdapterNodeAndABundledServerNodeShareASession(_ kind: StoreServerProcess.Kind, sticky: Bool) async throws {
        try await StoreServerProcess.with(kind) { server in
            let nodes = Self.node(kind, "n1", server.port)
            let ports = [try FreePort.make(), try FreePort.make()]
            let extra = #"sticky="\#(sticky)""#
            let adapter = try await start(Self.xml(port: ports[0], route: "adapter", nodes: nodes, extra: extra), port: ports[0])
            defer { adapter.terminate() }
            let bundled = try await SampleExecutable("SessionSample").startServing(
                Self.xml(port: ports[1], route: "bundled", nodes: nodes, extra: extra),
                port: ports[1]
            )
            defer { bundled.terminate() }
            var cookie: String?
            for request in 1...6 {
                let response = try await Self.get(ports[(request - 1) % 2], "/myapp/count", cookie: cookie)
                #expect(response.fields["count"] == "\(request)", "sticky=\(sticky), request \(request) on \(response.fields["route"] ?? "?")")
                #expect(response.fields["route"] == ((request - 1) % 2 == 0 ? "adapter" : "bundled"))
                cookie = response.cookiePair ?? cookie
            }
        }
    }

    /// On SIGTERM the server stops first, then the managers, and the process ends by itself;
    /// sticky changes written after their answers are in the store for the next process.
    func aStickyNodeStopsCleanlyAndItsSuccessorContinuesTheCount() async throws {
        try await StoreServerProcess.with(.redis()) { server in
            let port = try FreePort.make()
            let xml = Self.xml(port: port, route: "node1", nodes: Self.node(.redis(), "n1", server.port), extra: "")
            let first = try await start(xml, port: port)
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
            let second = try await start(xml, port: port)
            defer { second.terminate() }
            #expect(try await Self.get(port, "/myapp/count", cookie: cookie).fields["count"] == "4")
        }
    }

    /// `lockingMode="all"` across two processes: 16 × 50 increments, none lost.
    func lockingAllLosesNoIncrementAcrossTwoProcesses(_ kind: StoreServerProcess.Kind) async throws {
        try await withTwoProcesses(kind, extra: #"sticky="false" lockingMode="all""#) { ports in
            let cookie = try #require(try await Self.get(ports[0], "/myapp/count").cookiePair)
            #expect(try await Self.increments(ports: ports, clients: 16, each: 50, cookie: cookie) == 800)
            #expect(try await Self.get(ports[1], "/myapp/read", cookie: cookie).fields["count"] == "801")
        }
    }
}
