import Foundation
import Logging
import MemcachedSessionStore
import SessionManager
@testable import SessionPeerEndpoint
import SessionStoreNIO
import SessionTesting
import Synchronization
import Testing

/// The endpoint against real memcached: the same list of store tests, and the same table of
/// commands (every command the memcached store sends, byte for byte), run against both, in
/// plaintext and with a login over TLS. What the endpoint answers differently from memcached
/// fails here.
@Suite(.capturedLog, .enabled(if: MemcachedAndOpenSSL.isRunnable, "needs memcached and openssl: Scripts/install-dependencies.sh test"))
struct PeerEndpointStoreTests {
    /// What answers the store: real memcached or the endpoint, each plaintext or with a login
    /// over TLS.
    enum Server: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case memcached, endpoint, securedMemcached, securedEndpoint
        var testDescription: String { rawValue }
        var secured: Bool { self == .securedMemcached || self == .securedEndpoint }
    }

    static let login = MemcachedCredentials(username: "peers", password: "s3cret")

    /// Runs `body` with the port of a fresh `server` (plaintext, or TLS with `login` required).
    static func withServer(_ server: Server, _ body: (Int) async throws -> Void) async throws {
        let certificates = try await TestCertificates.shared()
        switch server {
        case .memcached, .securedMemcached:
            try await StoreServerProcess.with(
                .memcached(),
                tls: server.secured ? .init(certificates: certificates) : nil,
                memcachedLogin: server.secured ? "\(login.username):\(login.password)" : nil
            ) { process in try await body(process.port) }
        case .endpoint, .securedEndpoint:
            let endpoint = try PeerEndpoint(
                port: 0, limitBytes: 1 << 24,
                credentials: server.secured ? (login.username, login.password) : nil,
                tls: server.secured ? PeerEndpointTLS(certificateFile: certificates.serverCertificateFile, keyFile: certificates.serverKeyFile) : nil,
                logger: Logger(label: "peer")
            )
            let port = Mutex<Int?>(nil)
            let running = Task { try await endpoint.run { bound in port.withLock { $0 = bound } } }
            defer { running.cancel() }
            while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(5)) }
            try await body(try #require(port.withLock { $0 }))
        }
    }

    /// The memcached store on `server`, as a peer reaches an endpoint.
    static func withStore(_ server: Server, credentials: MemcachedCredentials? = login, _ body: (MemcachedSessionStore) async throws -> Void) async throws {
        let certificates = try await TestCertificates.shared()
        try await withServer(server) { port in
            let store = MemcachedSessionStore(
                host: "127.0.0.1", port: port, tls: server.secured,
                credentials: server.secured ? credentials : nil,
                configuration: StoreClientConfiguration(tls: StoreTLS(caFile: certificates.caFile))
            )
            try await body(store)
            await store.shutdown()
        }
    }

    @Test(arguments: Server.allCases)
    func theStoresLockContractHolds(_ server: Server) async throws {
        try await Self.withStore(server) { store in try await StoreLockContract.check(store) }
    }

    @Test(arguments: Server.allCases)
    func theStoresCommands(_ server: Server) async throws {
        try await Self.withStore(server) { store in
            try await store.set("k", value: [1, 2], ttl: .seconds(60))
            #expect(try await store.getAndTouch("k", ttl: .seconds(60)) == [1, 2])
            #expect(try await !store.add("k", value: [3], ttl: .seconds(60)))
            #expect(try await store.replace("k", value: [4], ttl: .seconds(60)))
            #expect(try await !store.replace("absent", value: [4], ttl: .seconds(60)))
            let read = try #require(try await store.getVersioned("k"))
            #expect(read.bytes == [4])
            #expect(try await store.setIfUnchanged("k", value: [5], ttl: .seconds(60), expected: read))
            #expect(try await !store.setIfUnchanged("k", value: [6], ttl: .seconds(60), expected: read), "changed since it was read")
            #expect(try await store.touch("k", ttl: .seconds(60)))
            try await store.delete("k")
            #expect(try await store.getAndTouch("k", ttl: .seconds(60)) == nil)
            try await store.set("short", value: [7], ttl: .seconds(1))
            try await Task.sleep(for: .milliseconds(2100))
            #expect(try await store.getAndTouch("short", ttl: .seconds(60)) == nil, "its TTL is honoured")
        }
    }

    @Test(arguments: [Server.securedMemcached, .securedEndpoint])
    func aWrongOrMissingLoginIsRefusedAsByMemcached(_ server: Server) async throws {
        try await Self.withStore(server, credentials: MemcachedCredentials(username: "peers", password: "nope")) { store in
            await #expect { try await store.run() } throws: { "\($0)".contains("refused the login of 'peers'") }
        }
        try await Self.withStore(server, credentials: nil) { store in
            await #expect { try await store.set("k", value: [1], ttl: .seconds(60)) } throws: { "\($0)".contains("requires a login (memcached -Y)") }
        }
    }

    /// Every command the store sends, and the errors, as raw protocol: `{cas}` is replaced by the
    /// last CAS value seen; CAS values and `CLIENT_ERROR` texts are compared by their shape.
    static let table: [(send: String, expect: String)] = [
        ("get a\r\n", "END\r\n"),
        ("set a 0 60 2\r\nab\r\n", "STORED\r\n"),
        ("get a\r\n", "VALUE a 0 2\r\nab\r\nEND\r\n"),
        ("gat 60 a\r\n", "VALUE a 0 2\r\nab\r\nEND\r\n"),
        ("gat 60 absent\r\n", "END\r\n"),
        ("add a 0 60 1\r\nx\r\n", "NOT_STORED\r\n"),
        ("add b 0 60 1\r\nx\r\n", "STORED\r\n"),
        ("touch a 60\r\n", "TOUCHED\r\n"),
        ("touch absent 60\r\n", "NOT_FOUND\r\n"),
        ("delete a\r\n", "DELETED\r\n"),
        ("delete a\r\n", "NOT_FOUND\r\n"),
        ("set e 0 -1 1\r\nx\r\n", "STORED\r\n"),
        ("get e\r\n", "END\r\n"),
        ("ms m 2 T60 c\r\nab\r\n", "HD c#\r\n"),
        ("ms m 2 T60 c ME\r\nab\r\n", "NS c0\r\n"),
        ("ms n 1 T60 c MR\r\nx\r\n", "NS c0\r\n"),
        ("ms m 1 T60 c MR\r\ny\r\n", "HD c#\r\n"),
        ("mg m v c\r\n", "VA 1 c#\r\ny\r\n"),
        ("ms m 1 T60 c C1\r\nz\r\n", "EX c0\r\n"),
        ("ms m 1 T60 c C{cas}\r\nz\r\n", "HD c#\r\n"),
        ("mg m t\r\n", "HD t60\r\n"),
        ("md m C1\r\n", "EX\r\n"),
        ("mg m v c\r\n", "VA 1 c#\r\nz\r\n"),
        ("md m C{cas}\r\n", "HD\r\n"),
        ("md m C1\r\n", "NF\r\n"),
        ("md absent\r\n", "NF\r\n"),
        ("mg m v c\r\n", "EN\r\n"),
        ("ms absent 1 T60 c C5\r\nz\r\n", "NF c0\r\n"),
        ("frobnicate a\r\n", "ERROR\r\n"),
    ]

    @Test(arguments: [Server.memcached, .endpoint])
    func everyCommandIsAnsweredAsByMemcached(_ server: Server) async throws {
        try await Self.withServer(server) { port in
            let replies = try await ProtocolConnection.exchange(Self.table.map(\.send), port: port)
            for ((send, expect), reply) in zip(Self.table, replies) {
                #expect(ProtocolConnection.shape(reply) == expect, "\(server): \(send.debugDescription)")
            }
        }
    }

    @Test(arguments: [Server.securedMemcached, .securedEndpoint])
    func nothingIsServedBeforeTheLogin(_ server: Server) async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withServer(server) { port in
            let table = [
                ("get a\r\n", "CLIENT_ERROR #\r\n"),
                ("set auth 0 0 12\r\npeers s3cre7\r\n", "CLIENT_ERROR #\r\n"),
                ("set auth 0 0 12\r\npeers s3cret\r\n", "STORED\r\n"),
                ("set a 0 60 1\r\nx\r\n", "STORED\r\n"),
                ("get a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n"),
            ]
            let replies = try await ProtocolConnection.exchange(table.map(\.0), port: port, caFile: certificates.caFile)
            for ((send, expect), reply) in zip(table, replies) {
                #expect(ProtocolConnection.shape(reply) == expect, "\(server): \(send.debugDescription)")
            }
        }
    }
}

/// What the comparison with real memcached needs installed.
enum MemcachedAndOpenSSL {
    static var isRunnable: Bool { StoreServerProcess.Kind.memcached().isRunnable && TestCertificates.isRunnable }
}
