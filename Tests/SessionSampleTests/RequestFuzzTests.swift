import Foundation
import Logging
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionTesting
import Testing

/// Cases to run: `FUZZ_COUNT`, default 2000.
let fuzzCount = ProcessInfo.processInfo.environment["FUZZ_COUNT"].flatMap { Int($0) } ?? 2000
/// 2 minutes in CI; a longer run by hand gets a minute per 1000 cases.
let fuzzMinutes = max(2, fuzzCount / 1000)

/// Fuzzing of the request path against a live sample: malformed HTTP, request smuggling shapes,
/// slow writers, hostile cookies and paths, generated from a fixed seed. Whatever arrives: the
/// server never crashes, bad HTTP gets a `4xx` (or silence), no 5xx, no file outside the app,
/// no client-chosen id adopted, and a well-behaved client keeps being served with its session
/// intact.
///
/// CI runs `FUZZ_COUNT` cases (default 2000, under a minute); by hand, more and another seed:
/// `FUZZ_COUNT=200000 FUZZ_SEED=7 swift test --filter RequestFuzzTests`.
@Suite(.capturedLog, .timeLimit(.minutes(fuzzMinutes))) struct RequestFuzzTests {
    static let count = fuzzCount
    static let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5E55_1011

    @Test func theRequestPathSurvivesHostileInput() async throws {
        var configuration = try SampleServer.defaultConfiguration(port: 0)
        // Incomplete requests end quickly.
        configuration.connector.connectionTimeout = .milliseconds(250)
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let server = try SampleServer.makeServer(configuration: configuration, logger: logger)
        try await LiveServer.with(server) { port in
            // The well-behaved client: its session must survive everything below.
            let first = try await RawHTTPClient.get(port: port, "/myapp/count")
            let victim = try #require(first.cookiePair)
            let victimID = String(victim.dropFirst("JSESSIONID=".count))
            let report = try await Self.onThread {
                var fuzzer = RequestFuzzer(seed: Self.seed, port: port, victimID: victimID)
                return try fuzzer.run(cases: Self.count)
            }
            print("fuzz: seed \(Self.seed), \(report.summary)")
            #expect(report.failures.isEmpty, "\(report.failures.prefix(10).joined(separator: "\n"))")
            // Still served, and the victim's count went on exactly as its own requests made it.
            let last = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", victim)])
            #expect(last.status == 200)
            #expect(last.fields["count"] == String(report.victimCount + 1))
        }
    }

    /// Runs blocking socket work on a thread of its own, not on the cooperative pool.
    static func onThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }
}

/// Generates hostile requests from a seed and checks the answers. Blocking sockets: each case is
/// one connection, written (whole or in slow pieces), half-closed, and read to its end.
struct RequestFuzzer {
    struct Report: Sendable {
        var failures: [String] = []
        var cases: [String: Int] = [:]
        var statuses: [Int: Int] = [:]
        var victimCount = 1
        var summary: String {
            "\(cases.values.reduce(0, +)) cases " + cases.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                + "; statuses " + statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        }
    }

    /// What a case is, and so what its answer may be.
    enum Kind: String, CaseIterable {
        case badRequestLine, badHeaders, smuggling, badChunked, hostileCookies, hostilePaths, slowWriter
    }

    var random: SplitMix64
    let port: Int
    let victimID: String
    var report = Report()

    init(seed: UInt64, port: Int, victimID: String) {
        self.random = SplitMix64(seed: seed)
        self.port = port
        self.victimID = victimID
    }

    mutating func run(cases: Int) throws -> Report {
        for number in 0..<cases {
            let kind = Kind.allCases[random.below(Kind.allCases.count)]
            report.cases[kind.rawValue, default: 0] += 1
            let (bytes, sentIDs) = make(kind)
            let pieces = kind == .slowWriter ? 2 + random.below(6) : 1
            let received = try exchange(bytes, pieces: pieces)
            check(kind, number: number, bytes: bytes, sentIDs: sentIDs, received: received)
            if number % 50 == 49 { try checkVictim(after: number) }
        }
        try checkVictim(after: cases)
        return report
    }

    // MARK: Generators

    static let methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]
    static let paths = ["/myapp/count", "/myapp/read", "/myapp/plain", "/myapp/", "/myapp/style.css", "/status/"]

    mutating func pick<T>(_ values: [T]) -> T { values[random.below(values.count)] }

    mutating func make(_ kind: Kind) -> ([UInt8], [String]) {
        switch kind {
        case .badRequestLine: return (Array(badRequestLine().utf8), [])
        case .badHeaders: return (badHeaders(), [])
        case .smuggling: return (Array(smuggling().utf8), [])
        case .badChunked: return (Array(badChunked().utf8), [])
        case .hostileCookies:
            let (cookies, ids) = hostileCookies()
            return (Array("GET \(pick(["/myapp/read", "/myapp/count"])) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\(cookies)\r\n".utf8), ids)
        case .hostilePaths: return (Array("\(pick(["GET", "HEAD"])) \(hostilePath()) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), [])
        case .slowWriter:
            return (Array("GET \(pick(Self.paths)) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Slow: \(random.below(1000))\r\n\r\n".utf8), [])
        }
    }

    mutating func badRequestLine() -> String {
        let path = pick(Self.paths)
        // (Two spaces between the parts are not here: RFC 9112 §3 lets a server split on
        // whitespace, and NIO's parser does.)
        switch random.below(8) {
        case 0: return "\(pick(Self.methods)) \(path)\r\nHost: x\r\n\r\n"                       // no version
        case 1: return "\(pick(Self.methods)) \(path) HTTP/1.1 extra\r\nHost: x\r\n\r\n"
        case 2: return "G\u{1}ET \(path) HTTP/1.1\r\nHost: x\r\n\r\n"                             // control char in method
        case 3: return "GET \(path) HTTP/9.9\r\nHost: x\r\n\r\n"
        case 4: return "GET /\(String(repeating: "a", count: 9000 + random.below(70_000))) HTTP/1.1\r\nHost: x\r\n\r\n"
        case 5: return String(decoding: (0..<(1 + random.below(200))).map { _ in UInt8(random.below(256)) }, as: UTF8.self) + "\r\n\r\n"
        case 6: return " GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n"
        default: return "GET \(path) HTTP/1.1\r\n\r\n"                                            // no Host
        }
    }

    mutating func badHeaders() -> [UInt8] {
        let start = "GET \(pick(Self.paths)) HTTP/1.1\r\nHost: x\r\n"
        let headers: String
        switch random.below(7) {
        // Over the 16 KiB limit of a head:
        case 0: headers = "X-Big: \(String(repeating: "b", count: 17_000 + random.below(100_000)))\r\n"
        case 1: headers = (0..<(1400 + random.below(2000))).map { "X-\($0): value\r\n" }.joined()
        case 2: headers = "X-Fold: a\r\n  folded\r\n"                                           // obs-fold
        case 3: headers = "X-Bare: lf\nX-Other: y\r\n"                                            // bare LF
        case 4: headers = "Bad Name: v\r\n"
        case 5: headers = "X-Nul: a\u{0}b\r\n"
        default: headers = ": empty-name\r\n"
        }
        return Array((start + headers + "\r\n").utf8)
    }

    mutating func smuggling() -> String {
        let hidden = "GET /myapp/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        switch random.below(6) {
        case 0: return "POST /myapp/count HTTP/1.1\r\nHost: x\r\nContent-Length: \(hidden.utf8.count)\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\(hidden)"
        case 1: return "POST /myapp/count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n\(hidden)"
        case 2: return "POST /myapp/count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: \(hidden.utf8.count)\r\n\r\n\(hidden)"
        case 3: return "POST /myapp/count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n\(hidden)"
        case 4: return "POST /myapp/count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n\(hidden)"
        default: return "POST /myapp/count HTTP/1.1\r\nHost: x\r\nContent-Length: +\(hidden.utf8.count)\r\n\r\n\(hidden)"
        }
    }

    mutating func badChunked() -> String {
        let head = "POST /myapp/count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        switch random.below(5) {
        case 0: return head + "zz\r\nabc\r\n0\r\n\r\n"                                          // not hex
        case 1: return head + "ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"                        // overflow
        case 2: return head + "-1\r\nabc\r\n0\r\n\r\n"
        case 3: return head + "3\r\nabcdef\r\n0\r\n\r\n"                                        // longer than said
        default: return head + "3\r\nabc"                                                       // never ends
        }
    }

    mutating func hostileCookies() -> (String, [String]) {
        let hex = Array("0123456789ABCDEF")
        func randomID(_ random: inout SplitMix64) -> String { String((0..<32).map { _ in hex[random.below(16)] }) }
        var ids: [String] = []
        var cookies: [String] = []
        // (Not here: the victim's id with another route. The random part is the session's secret
        // and identity; the route only says which app node served it last, so such an id is
        // the victim's session, as in msm.)
        for _ in 0..<(1 + random.below(4)) {
            switch random.below(8) {
            case 0:
                let id = randomID(&random) + "-n\(random.below(9))"                             // a foreign node id
                ids.append(id); cookies.append("JSESSIONID=\(id)")
            case 1:
                let id = randomID(&random) + ".route\(random.below(9))"                         // a foreign route
                ids.append(id); cookies.append("JSESSIONID=\(id)")
            case 2:
                let id = randomID(&random).lowercased()
                ids.append(id); cookies.append("JSESSIONID=\(id)")
            case 3:
                let id = victimID.lowercased()                                                  // the victim's, lowercased
                ids.append(id); cookies.append("JSESSIONID=\(id)")
            case 4: cookies.append("JSESSIONID=\(String(repeating: "A", count: 8192))")
            case 5: cookies.append("JSESSIONID=\(randomID(&random))\u{1}\u{7f}")
            case 6: cookies.append((0..<(50 + random.below(400))).map { "c\($0)=\($0)" }.joined(separator: "; "))
            default:
                let id = randomID(&random)
                ids.append(id); cookies.append("JSESSIONID=\(id); JSESSIONID=\(id)")            // duplicates
            }
        }
        return ("Cookie: " + cookies.joined(separator: "; ") + "\r\n", ids)
    }

    mutating func hostilePath() -> String {
        let tails = [
            "/myapp/../../../../etc/passwd", "/myapp/%2e%2e/%2e%2e/etc/passwd", "/myapp/..%2f..%2fetc%2fpasswd",
            "/myapp/style.css%00.png", "/myapp/count;jsessionid=\(victimID)", "/myapp\\..\\..\\etc\\passwd",
            "//myapp//count", "/myapp//../status/", "/myapp/%c0%ae%c0%ae/etc/passwd", "/myapp/./style.css",
            "/../myapp/count", "/myapp/public/../Package.swift", "/myapp/%", "/myapp/%zz", "*", "/myapp/\u{7f}",
        ]
        return pick(tails)
    }

    // MARK: The exchange

    /// Connects, writes `bytes` in `pieces` (5 ms apart), and reads until the server closes (at
    /// most 3 s: valid requests say `Connection: close`, bad ones are answered and closed, and
    /// incomplete ones end at the server's 250 ms deadline). No half-close: the server treats the
    /// end of its input as the client leaving, and answers nothing.
    func exchange(_ bytes: [UInt8], pieces: Int) throws -> [UInt8] {
        let fd = try RawSocket.connect(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let size = max(1, bytes.count / pieces)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + size)
            let written = bytes[offset..<end].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { break }  // the server closed (an early answer to a bad head)
            offset += written
            if pieces > 1 && offset < bytes.count { usleep(5000) }
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
            if received.count > 1 << 22 { break }
        }
        return received
    }

    /// The responses in `bytes`: status, headers, body (by `Content-Length`).
    static func responses(_ bytes: [UInt8]) -> [(status: Int, headers: [(String, String)], body: String)] {
        var result: [(Int, [(String, String)], String)] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while !rest.isEmpty, let end = rest.firstRange(of: separator) {
            let head = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? -1
            let headers = lines.compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]).lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            let length = headers.first { $0.0 == "content-length" }.flatMap { Int($0.1) } ?? 0
            let bodyEnd = min(rest.endIndex, end.upperBound + length)
            result.append((status, headers, String(decoding: rest[end.upperBound..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return result
    }

    // MARK: Checks

    mutating func fail(_ number: Int, _ kind: Kind, _ bytes: [UInt8], _ message: String) {
        let shown = String(decoding: bytes.prefix(160), as: UTF8.self).debugDescription
        report.failures.append("case \(number) (\(kind.rawValue)) \(message): \(shown)")
    }

    mutating func check(_ kind: Kind, number: Int, bytes: [UInt8], sentIDs: [String], received: [UInt8]) {
        let responses = Self.responses(received)
        for response in responses { report.statuses[response.status, default: 0] += 1 }
        if !received.isEmpty && responses.isEmpty {
            return fail(number, kind, bytes, "bytes that are no HTTP response: \(String(decoding: received.prefix(80), as: UTF8.self).debugDescription)")
        }
        for response in responses {
            if response.status >= 500 && response.status != 501 && response.status != 505 {
                fail(number, kind, bytes, "answered \(response.status)")
            }
            if response.body.contains("root:") || response.body.contains("PackageDescription") {
                fail(number, kind, bytes, "served a file outside the app")
            }
            for (name, value) in response.headers where name == "set-cookie" && value.hasPrefix("JSESSIONID=") {
                let id = value.dropFirst("JSESSIONID=".count).prefix { $0 != ";" }
                if sentIDs.contains(String(id)) || id == victimID { fail(number, kind, bytes, "adopted a client's id \(id)") }
            }
        }
        switch kind {
        case .badRequestLine, .badHeaders, .badChunked:
            // Bad HTTP: one 4xx (505 for a version), or silence; never an app's answer.
            if responses.count > 1 { fail(number, kind, bytes, "\(responses.count) answers") }
            if let status = responses.first?.status, !(400..<500).contains(status) && status != 505 {
                fail(number, kind, bytes, "bad HTTP answered \(status)")
            }
        case .smuggling:
            // The hidden request is never answered: at most one answer, and no 404 of /smuggled.
            if responses.count > 1 { fail(number, kind, bytes, "\(responses.count) answers: a smuggled request was served") }
            if let status = responses.first?.status, status != 400 && status != 501 {
                fail(number, kind, bytes, "an ambiguous body framing answered \(status), not 400/501")
            }
        case .hostileCookies:
            for response in responses where response.status == 200 {
                // No variation of the victim's id reads the victim's session.
                if let count = response.body.components(separatedBy: "\n").first(where: { $0.hasPrefix("count=") }),
                    count != "count=0" && count != "count=1"
                {
                    fail(number, kind, bytes, "a forged id read a session: \(count)")
                }
            }
            if responses.isEmpty { fail(number, kind, bytes, "no answer") }
        case .hostilePaths:
            for response in responses where ![200, 400, 404].contains(response.status) {
                fail(number, kind, bytes, "a path answered \(response.status)")
            }
        case .slowWriter:
            if responses.first?.status != 200 { fail(number, kind, bytes, "a slow writer got \(responses.first.map { "\($0.status)" } ?? "nothing")") }
        }
    }

    /// The well-behaved client: its count goes on by one.
    mutating func checkVictim(after number: Int) throws {
        let request = Array("GET /myapp/count HTTP/1.1\r\nHost: x\r\nCookie: JSESSIONID=\(victimID)\r\nConnection: close\r\n\r\n".utf8)
        let responses = Self.responses(try exchange(request, pieces: 1))
        report.victimCount += 1
        guard let response = responses.first, response.status == 200, response.body.contains("count=\(report.victimCount)\n") else {
            report.failures.append("after case \(number): the well-behaved client got \(responses.first.map { "\($0.status) \($0.body)" } ?? "nothing")")
            return
        }
    }
}
