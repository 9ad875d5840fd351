import Foundation
import Logging
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionTesting
import Testing

/// The sample's rules, live on port 0, with a counting store around the memory store. The rules
/// about sessions run twice: with sessions resident between requests, as the sample runs by
/// default, and with every request reading the store, as with a shared store.
@Suite(.capturedLog) struct SampleAppTests {
    /// Reads the store on every request (`isProcessLocal` false).
    let store = CountingSessionStore(MemorySessionStore())
    /// Keeps sessions resident, as the plain memory store does.
    let residentStore = CountingSessionStore(MemorySessionStore(), isProcessLocal: true)

    /// The store of a test run with or without residency.
    func countingStore(resident: Bool) -> CountingSessionStore { resident ? residentStore : store }

    func withSample<R: Sendable>(
        resident: Bool = false,
        jvmRoute: String? = nil,
        maxInactiveInterval: Int? = nil,
        _ body: @Sendable (Int) async throws -> R
    ) async throws -> R {
        var configuration = try SampleServer.defaultConfiguration(port: 0)
        configuration.jvmRoute = jvmRoute
        if let maxInactiveInterval { configuration.contexts[0].manager.maxInactiveInterval = maxInactiveInterval }
        let store = countingStore(resident: resident)
        let server = try SampleServer.makeServer(configuration: configuration, stores: { _ in store }, logger: Logger(label: "test"))
        return try await LiveServer.with(server, body)
    }

    /// `^[0-9A-F]{32}$` followed by `suffix`. Without a suffix, a route of the process's own may
    /// follow (`.` and 12 of `[a-z0-9]`): a sticky context on a shared store without `jvmRoute`
    /// tags its ids so (see `AppNodeRoute`).
    static func isID(_ text: String, suffix: String = "") -> Bool {
        guard text.hasSuffix(suffix) else { return false }
        var random = Substring(text.dropLast(suffix.count))
        if suffix.isEmpty, let dot = random.firstIndex(of: ".") {
            let route = random.utf8[random.utf8.index(after: dot)...]
            guard route.count == 12, route.allSatisfy({ (48...57).contains($0) || (97...122).contains($0) }) else { return false }
            random = random[..<dot]
        }
        return random.utf8.count == 32 && random.utf8.allSatisfy { (48...57).contains($0) || (65...70).contains($0) }
    }

    @Test(arguments: [false, true]) func countIncrementsWithTheReturnedCookieAndSetsItOnce(resident: Bool) async throws {
        try await withSample(resident: resident) { port in
            let first = try await RawHTTPClient.get(port: port, "/myapp/count")
            #expect(first.status == 200)
            #expect(first.fields["count"] == "1")
            let id = try #require(first.fields["id"])
            #expect(Self.isID(id))
            #expect(first.values("Set-Cookie") == ["JSESSIONID=\(id); Path=/myapp; HttpOnly; SameSite=Lax"])
            let cookie = try #require(first.cookiePair)
            let second = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
            #expect(second.fields["count"] == "2")
            #expect(second.fields["id"] == id)
            #expect(second.values("Set-Cookie").isEmpty)
            let read = try await RawHTTPClient.get(port: port, "/myapp/read", headers: [("Cookie", cookie)])
            #expect(read.fields["count"] == "2")
            #expect(read.values("Set-Cookie").isEmpty)
        }
    }

    @Test func idsCarryTheJvmRoute() async throws {
        try await withSample(jvmRoute: "node1") { port in
            let response = try await RawHTTPClient.get(port: port, "/myapp/count")
            #expect(Self.isID(try #require(response.fields["id"]), suffix: ".node1"))
            #expect(response.fields["route"] == "node1")
        }
    }

    @Test(arguments: [false, true]) func staticFilesAreServedWithoutAnySessionWork(resident: Bool) async throws {
        let store = countingStore(resident: resident)
        try await withSample(resident: resident) { port in
            let cookie = try #require(try await RawHTTPClient.get(port: port, "/myapp/count").cookiePair)
            store.reset()
            let logo = try Data(contentsOf: try #require(Bundle.module.url(forResource: "logo", withExtension: "png", subdirectory: "Fixtures")))
            for path in ["/myapp/logo.png", "/myapp/logo.png?v=3", "/myapp/style.css"] {
                for headers in [[], [("Cookie", cookie)]] {
                    let response = try await RawHTTPClient.get(port: port, path, headers: headers)
                    #expect(response.status == 200, "\(path)")
                    #expect(response.values("Set-Cookie").isEmpty, "\(path)")
                    if path.hasPrefix("/myapp/logo.png") { #expect(response.bodyBytes == Array(logo)) }
                }
            }
            #expect(store.counts.total == 0)
        }
    }

    @Test(arguments: [false, true]) func readWithoutSessionCreatesNone(resident: Bool) async throws {
        let store = countingStore(resident: resident)
        try await withSample(resident: resident) { port in
            let response = try await RawHTTPClient.get(port: port, "/myapp/read")
            #expect(response.fields["count"] == "0")
            #expect(response.fields["id"] == "")
            #expect(response.values("Set-Cookie").isEmpty)
            #expect(store.counts.total == 0)
            let plain = try await RawHTTPClient.get(port: port, "/myapp/plain", headers: [("Cookie", "JSESSIONID=0123456789ABCDEF0123456789ABCDEF")])
            #expect(plain.body == "plain\n")
            #expect(store.counts.total == 0)
        }
    }

    @Test(arguments: [false, true]) func unknownWellFormedIDGetsAFreshOne(resident: Bool) async throws {
        try await withSample(resident: resident, jvmRoute: "node1") { port in
            let forged = "0123456789ABCDEF0123456789ABCDEF.node1"
            let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", "JSESSIONID=\(forged)")])
            #expect(response.status == 200)
            #expect(response.fields["count"] == "1")
            let id = try #require(response.fields["id"])
            #expect(id != forged)
            #expect(!id.hasPrefix("0123456789ABCDEF0123456789ABCDEF"))
            #expect(response.cookiePair == "JSESSIONID=\(id)")
        }
    }

    @Test(arguments: [
        "JSESSIONID=" + String(repeating: "A", count: 200),
        "JSESSIONID=0123456789ABCDEF0123456789ABCDEF%0D%0ASet-Cookie:%20x=y",
        "JSESSIONID=0123456789ABCDEF0123456789ABCDEF\tx",
        "JSESSIONID=GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG",
        "JSESSIONID=" + String(repeating: "B", count: 10 * 1024),
        "JSESSIONID=",
        "JSESSIONID",
        "JSESSIONID=x; JSESSIONID=y; JSESSIONID=0123456789ABCDEF0123456789ABCDEF",
        "JSESSIONID=\"",
        "=;=;=;",
    ], [false, true])
    func malformedCookiesGetANewSessionAndANormalResponse(cookie: String, resident: Bool) async throws {
        try await withSample(resident: resident) { port in
            let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
            #expect(response.status == 200)
            #expect(response.fields["count"] == "1")
            let id = try #require(response.fields["id"])
            #expect(Self.isID(id))
            #expect(response.cookiePair == "JSESSIONID=\(id)")
            // The server is fine afterwards.
            #expect(try await RawHTTPClient.get(port: port, "/myapp/plain").status == 200)
        }
    }

    @Test(arguments: [false, true]) func sessionIsGoneAfterItsMaxInactiveInterval(resident: Bool) async throws {
        try await withSample(resident: resident, maxInactiveInterval: 1) { port in
            let start = ContinuousClock.now
            let first = try await RawHTTPClient.get(port: port, "/myapp/count")
            let cookie = try #require(first.cookiePair)
            // Within the interval the session lives, and each use slides its deadline. (On a machine
            // so loaded that the second request ends after the interval, there is nothing to check.)
            try await Task.sleep(for: .milliseconds(300))
            let second = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
            if ContinuousClock.now - start < .milliseconds(950) {
                #expect(second.fields["count"] == "2")
            }
            try await Task.sleep(for: .milliseconds(2000))
            let after = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)])
            #expect(after.fields["count"] == "1")
            #expect(after.fields["id"] != first.fields["id"])
            #expect(after.cookiePair != nil)
        }
    }

    @Test(arguments: [false, true]) func sixteenConcurrentClientsLoseNoIncrement(resident: Bool) async throws {
        try await withSample(resident: resident) { port in
            // The index page creates the session and counts its visit: the total is 1 + 16 × 200.
            let cookie = try #require(try await RawHTTPClient.get(port: port, "/myapp/").cookiePair)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        try await RawHTTPClient.withConnection(port: port) { (client: RawHTTPClient) async throws in
                            for _ in 0..<200 {
                                let response = try await client.get("/myapp/count", headers: [("Cookie", cookie)])
                                #expect(response.status == 200)
                                #expect(response.values("Set-Cookie").isEmpty)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try await RawHTTPClient.get(port: port, "/myapp/read", headers: [("Cookie", cookie)])
            #expect(final.fields["count"] == "3201")
        }
    }

    @Test func indexPageShowsTheSession() async throws {
        try await withSample(jvmRoute: "node1") { port in
            let response = try await RawHTTPClient.get(port: port, "/myapp/")
            #expect(response.status == 200)
            #expect(response.value("Content-Type")?.hasPrefix("text/html") == true)
            let id = try #require(response.cookiePair?.split(separator: "=").last.map(String.init))
            #expect(response.body.contains(id))
            #expect(response.body.contains("node1"))
            #expect(response.body.contains("/myapp/logo.png"))
        }
    }
}
