import Foundation
import Logging
import MemcachedSessionStore
import RedisSessionStore
import ServiceLifecycle
import SessionManager
import SessionStoreNIO
import SessionTesting
import Testing

/// TLS to real `redis-server --tls-port --port 0` and `memcached -Z` processes with certificates
/// the tests make (``TestCertificates``): what works, and what every failure says, for both stores.
@Suite(.capturedLog, .enabled(if: TLSTestServers.isRunnable, "needs redis-server, memcached and openssl: Scripts/install-dependencies.sh test"))
struct StoreTLSTests {    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]

    /// A store for `server`, over TLS unless `plaintext`, with `tls` settings.
    static func store(
        _ server: StoreServerProcess,
        plaintext: Bool = false,
        tls: StoreTLS,
        credentials: MemcachedCredentials? = nil,
        logger: Logger = Logger(label: "test")
    ) -> any TLSTestStore {
        let configuration = StoreClientConfiguration(operationTimeout: .milliseconds(500), connectTimeout: .milliseconds(500), tls: tls)
        if case .memcached = server.kind {
            return MemcachedSessionStore(
                host: "127.0.0.1", port: server.port, tls: !plaintext, credentials: credentials, configuration: configuration, logger: logger
            )
        }
        return RedisSessionStore(url: RedisURL(host: "127.0.0.1", port: server.port, tls: !plaintext), configuration: configuration, logger: logger)
    }

    /// The message of the error a write fails with, `nil` if it works.
    static func failure(of store: any TLSTestStore) async -> String? {
        do {
            try await store.set("sm:tls", value: Array("v".utf8), ttl: .seconds(60))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: kinds)
    func aTLSNodeStoresAndReadsAndCountsOneCommandPerRead(kind: StoreServerProcess.Kind) async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(kind, tls: .init(certificates: certificates)) { server in
            let store = Self.store(server, tls: StoreTLS(caFile: certificates.caFile))
            try await store.set("sm:k", value: Array("hello".utf8), ttl: .seconds(60))
            let before = try await server.sessionCommandCount()
            #expect(try await store.getAndTouch("sm:k", ttl: .seconds(60)) == Array("hello".utf8))
            let after = try await server.sessionCommandCount()
            #expect(after - before == 1, "one GETEX, one gat")
            await store.shutdown()
        }
    }

    @Test(arguments: kinds)
    func anUnknownCAIsAConnectFailureThatSaysSo(kind: StoreServerProcess.Kind) async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(kind, tls: .init(certificates: certificates)) { server in
            let log = LogCapture()
            let store = Self.store(server, tls: StoreTLS(caFile: certificates.otherCAFile), logger: log.logger())
            let message = try #require(await Self.failure(of: store))
            #expect(message.contains("connectFailed") && message.contains("TLS handshake"), "\(message)")
            #expect(message.contains("is not issued by the CA certificates of tlsCAFile '\(certificates.otherCAFile)'"), "\(message)")
            // One warning for the change to unreachable, naming the reason; none for the next failure.
            _ = await Self.failure(of: store)
            let warnings = log.records(.warning, containing: "unreachable")
            #expect(warnings.count == 1 && "\(warnings.first?.metadata ?? [:])".contains("is not issued by"), "\(log.all.map(\.message))")
            await store.shutdown()
        }
    }

    @Test(arguments: kinds)
    func theSystemTrustStoreDoesNotTrustATestCA(kind: StoreServerProcess.Kind) async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(kind, tls: .init(certificates: certificates)) { server in
            let store = Self.store(server, tls: StoreTLS())
            let message = try #require(await Self.failure(of: store))
            #expect(message.contains("is not issued by the system's trusted CAs (set tlsCAFile to your CA)"), "\(message)")
            await store.shutdown()
        }
    }

    @Test(arguments: kinds)
    func aNodeGivenByIPIsVerifiedAgainstTLSServerNameAndAWrongNameIsRefused(kind: StoreServerProcess.Kind) async throws {
        let certificates = try await TestCertificates.shared()
        // The certificate names sessions.internal only, as a cluster's often does; the node is 127.0.0.1.
        try await StoreServerProcess.with(kind, tls: .init(certificates: certificates, certificate: .named)) { server in
            let byAddress = Self.store(server, tls: StoreTLS(caFile: certificates.caFile))
            let message = try #require(await Self.failure(of: byAddress))
            #expect(message.contains("does not name the server") && message.contains("set tlsServerName"), "\(message)")
            await byAddress.shutdown()
            let wrong = Self.store(server, tls: StoreTLS(caFile: certificates.caFile, serverName: "sessions.example.com"))
            let wrongMessage = try #require(await Self.failure(of: wrong))
            #expect(wrongMessage.contains("does not name the server") && wrongMessage.contains("sessions.example.com"), "\(wrongMessage)")
            await wrong.shutdown()
            let named = Self.store(server, tls: StoreTLS(caFile: certificates.caFile, serverName: "sessions.internal"))
            #expect(await Self.failure(of: named) == nil)
            await named.shutdown()
            let chainOnly = Self.store(server, tls: StoreTLS(caFile: certificates.caFile, verify: .noHostname))
            #expect(await Self.failure(of: chainOnly) == nil)
            await chainOnly.shutdown()
        }
    }

    @Test(arguments: kinds)
    func anExpiredServerCertificateIsRefusedWithItsDate(kind: StoreServerProcess.Kind) async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(kind, tls: .init(certificates: certificates, certificate: .expired)) { server in
            let store = Self.store(server, tls: StoreTLS(caFile: certificates.caFile))
            let message = try #require(await Self.failure(of: store))
            #expect(message.contains("the server's certificate expired on 2020-02-01"), "\(message)")
            await store.shutdown()
        }
    }

    @Test(arguments: kinds)
    func aPlaintextServerBehindATLSNodeFailsAndIsNeverUsedInPlaintext(kind: StoreServerProcess.Kind) async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(kind) { server in
            let store = Self.store(server, tls: StoreTLS(caFile: certificates.caFile))
            let message = try #require(await Self.failure(of: store))
            #expect(message.contains("did not answer in TLS"), "\(message)")
            #expect(try await server.sessionCommandCount() == 0, "nothing was sent in plaintext")
            await store.shutdown()
        }
    }

    @Test(arguments: kinds)
    func aTLSServerBehindAPlaintextNodeFailsClearlyWithinTheTimeout(kind: StoreServerProcess.Kind) async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(kind, tls: .init(certificates: certificates)) { server in
            let store = Self.store(server, plaintext: true, tls: StoreTLS())
            let start = ContinuousClock.now
            let message = try #require(await Self.failure(of: store))
            #expect(ContinuousClock.now - start < .milliseconds(1500), "bounded by the connect timeout (500 ms) and the operation timeout")
            #expect(message.contains("connectFailed") && message.contains("is it a TLS port?"), "\(message)")
            await store.shutdown()
        }
    }

    @Test func mutualTLSRefusesANodeWithoutAClientCertificateAndAcceptsOneWithIt() async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(.redis(), tls: .init(certificates: certificates, requireClientCertificate: true)) { server in
            let log = LogCapture()
            let anonymous = Self.store(server, tls: StoreTLS(caFile: certificates.caFile), logger: log.logger())
            let message = try #require(await Self.failure(of: anonymous))
            #expect(message.contains("requires a client certificate: set tlsCertificateFile and tlsKeyFile"), "\(message)")
            #expect(log.records(.warning, containing: "unreachable").count == 1)
            await anonymous.shutdown()
            let identified = Self.store(
                server,
                tls: StoreTLS(caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile, keyFile: certificates.clientKeyFile)
            )
            #expect(await Self.failure(of: identified) == nil)
            await identified.shutdown()
        }
    }

    @Test func aRotatedCAFileIsUsedByTheNextConnectionWithoutARestart() async throws {
        let certificates = try await TestCertificates.shared()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sm-rotate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ca = folder.appendingPathComponent("ca.pem")
        try FileManager.default.copyItem(atPath: certificates.otherCAFile, toPath: ca.path)
        try await StoreServerProcess.with(.redis(), tls: .init(certificates: certificates)) { server in
            let store = Self.store(server, tls: StoreTLS(caFile: ca.path)) 
            #expect(await Self.failure(of: store) != nil, "the wrong CA first")
            // The operator replaces the file (a new inode, as tools that rotate files do).
            let next = folder.appendingPathComponent("ca.pem.new")
            try FileManager.default.copyItem(atPath: certificates.caFile, toPath: next.path)
            #expect(rename(next.path, ca.path) == 0)
            try await store.probe(key: "sm:tls")
            #expect(await Self.failure(of: store) == nil, "the next connection trusts the new CA")
            await store.shutdown()
        }
    }

    @Test func memcachedAuthenticationLogsInAndAWrongPasswordStopsTheStoreAtStart() async throws {
        try await StoreServerProcess.with(.memcached(), memcachedLogin: "app:s3cret") { server in
            let right = Self.store(server, plaintext: true, tls: StoreTLS(), credentials: MemcachedCredentials(username: "app", password: "s3cret"))
            #expect(await Self.failure(of: right) == nil)
            #expect(try await right.getAndTouch("sm:tls", ttl: .seconds(60)) == Array("v".utf8))
            await right.shutdown()

            let wrong = Self.store(server, plaintext: true, tls: StoreTLS(), credentials: MemcachedCredentials(username: "app", password: "nope"))
            await #expect {
                try await wrong.run()
            } throws: { error in
                "\(error)".contains("authenticationFailed") && "\(error)".contains("refused the login of 'app'")
            }
            let none = Self.store(server, plaintext: true, tls: StoreTLS())
            let message = try #require(await Self.failure(of: none))
            #expect(message.contains("requires a login (memcached -Y): set username and password"), "\(message)")
            await none.shutdown()
        }
    }

    @Test func memcachedOverTLSWithALogin() async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(.memcached(), tls: .init(certificates: certificates), memcachedLogin: "app:s3cret") { server in
            let store = Self.store(
                server, tls: StoreTLS(caFile: certificates.caFile), credentials: MemcachedCredentials(username: "app", password: "s3cret")
            )
            #expect(await Self.failure(of: store) == nil)
            let value = try await store.getAndTouch("sm:tls", ttl: .seconds(60))
            #expect(value == Array("v".utf8))
            await store.shutdown()
        }
    }

    @Test func unusableTLSFilesStopTheStoreAtStart() async throws {
        let certificates = try await TestCertificates.shared()
        try await StoreServerProcess.with(.redis(), tls: .init(certificates: certificates)) { server in
            // A key given as the CA: PEM, but no certificate BoringSSL can load.
            let store = Self.store(server, tls: StoreTLS(caFile: certificates.clientKeyFile))
            await #expect {
                try await store.run()
            } throws: { error in
                "\(error)".contains("tlsConfiguration") && "\(error)".contains("tlsCAFile '\(certificates.clientKeyFile)' cannot be loaded")
            }
        }
    }
}

/// Both stores, as these tests use them.
protocol TLSTestStore: SessionStore {
    func shutdown() async
}

extension RedisSessionStore: TLSTestStore {}
extension MemcachedSessionStore: TLSTestStore {}

/// What the TLS tests need installed.
enum TLSTestServers {
    static var isRunnable: Bool {
        StoreServerProcess.Kind.redis().isRunnable && StoreServerProcess.Kind.memcached().isRunnable && TestCertificates.isRunnable
    }
}
