import Foundation
import Logging
import NIOCore
import NIOSSL
import SessionManager
import Synchronization

/// The TLS side of one store node's connections: one `NIOSSLContext` built from the context's
/// ``StoreTLS`` settings and shared by every connection of the node, and a `NIOSSLClientHandler`
/// per connection.
///
/// The context is built once, and again only when one of its files changed: each new connection
/// looks at the files' size, modification time and inode (a `stat` each, no read), so a rotated
/// certificate, key or CA bundle is used by the next connection without a restart, and an
/// unchanged one costs no parse. A rotation caught half-written (a file that does not parse) keeps
/// the previous context and is said once; the next connection tries again.
package final class StoreTLSClient: Sendable {
    /// The settings (files, server name, verification).
    package let settings: StoreTLS
    private let logger: Logger
    private let loaded = Mutex<Loaded?>(nil)

    private struct Loaded {
        let stamp: [FileStamp]
        let context: NIOSSLContext
        /// The stamp of files that last failed to load while this context was kept (said once).
        var refused: [FileStamp]?
    }

    /// What identifies a file's version without reading it.
    private struct FileStamp: Equatable {
        let path: String
        let size: Int
        let modified: Date?
        let inode: Int
    }

    /// Creates the client side; nothing is read until ``prepare(node:)`` or the first connection.
    package init(settings: StoreTLS, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// The TLS side of a node whose URL asks for TLS (`uses`), with `configuration`'s settings;
    /// `nil` for a plaintext node.
    package static func forNode(usingTLS uses: Bool, _ configuration: StoreClientConfiguration, logger: Logger) -> StoreTLSClient? {
        uses ? StoreTLSClient(settings: configuration.tls, logger: logger) : nil
    }

    /// Reads the files and builds the context now: the store's start calls it, so that files that
    /// cannot be used stop the server at start, not at the first request. Also says, once, when
    /// verification is weakened.
    /// - Throws: ``StoreClientError`` (`tlsConfiguration`) naming the file and why.
    package func prepare(node: String) throws {
        _ = try context()
        switch settings.verify {
        case .full: break
        case .noHostname:
            logger.warning(
                "TLS to the store checks the certificate chain but not the server's name (tlsVerify=noHostname)",
                metadata: ["sm.node": "\(node)"]
            )
        case .none:
            logger.warning(
                "TLS to the store does not verify the server at all (tlsVerify=none): anyone on the path can pose as it; for tests only",
                metadata: ["sm.node": "\(node)"]
            )
        }
    }

    /// A handler for a new connection to `host`, with the current context (rebuilt first if a
    /// file changed). SNI and the name check use ``StoreTLS/serverName``, else `host` unless it is
    /// an IP address (then the certificate's IP addresses are checked against the peer's).
    package func handler(host: String) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: try context(), serverHostname: serverName(for: host))
    }

    /// The name sent as SNI and checked, `nil` for an IP address with no ``StoreTLS/serverName``.
    package func serverName(for host: String) -> String? {
        if let name = settings.serverName { return name }
        return Self.isIPAddress(host) ? nil : host
    }

    /// A handler that hands the server's certificates to `inspect` and fails the handshake: the
    /// diagnosis of a chain the normal handshake refused (see ``TLSFailure``).
    package func inspectingHandler(host: String, inspect: @escaping @Sendable ([NIOSSLCertificate]) -> Void) throws -> NIOSSLClientHandler {
        let callback: NIOSSLCustomVerificationCallback = { certificates, promise in
            inspect(certificates)
            promise.succeed(NIOSSLVerificationResult.failed)
        }
        return try NIOSSLClientHandler(context: try context(), serverHostname: serverName(for: host), customVerificationCallback: callback)
    }

    private func context() throws -> NIOSSLContext {
        let stamp = files.map(Self.stamp)
        if let current = loaded.withLock({ $0 }), current.stamp == stamp { return current.context }
        do {
            let context = try build()
            loaded.withLock { $0 = Loaded(stamp: stamp, context: context) }
            return context
        } catch {
            let reason = Self.loadFailure(error)
            let (kept, firstRefusal): (NIOSSLContext?, Bool) = loaded.withLock { current in
                guard let previous = current else { return (nil, false) }
                let first = previous.refused != stamp
                current?.refused = stamp
                return (previous.context, first)
            }
            guard let kept else { throw StoreClientError(.tlsConfiguration, reason) }
            if firstRefusal {
                logger.warning("TLS files changed but cannot be loaded; connections keep the previous ones", metadata: ["sm.error": "\(reason)"])
            }
            return kept
        }
    }

    private var files: [String] { [settings.caFile, settings.certificateFile, settings.keyFile].compactMap { $0 } }

    private func build() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification =
            switch settings.verify {
            case .full: .fullVerification
            case .noHostname: .noHostnameVerification
            case .none: .none
            }
        if let caFile = settings.caFile {
            configuration.trustRoots = .certificates(try load(caFile, "tlsCAFile") { try NIOSSLCertificate.fromPEMFile($0) })
        }
        if let certificateFile = settings.certificateFile, let keyFile = settings.keyFile {
            configuration.certificateChain = try load(certificateFile, "tlsCertificateFile") { try NIOSSLCertificate.fromPEMFile($0) }
                .map { .certificate($0) }
            configuration.privateKey = .privateKey(try load(keyFile, "tlsKeyFile") { try NIOSSLPrivateKey(file: $0, format: .pem) })
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Loads one file, naming it and its attribute in the error.
    private func load<T>(_ path: String, _ attribute: String, _ read: (String) throws -> T) throws -> T {
        do {
            return try read(path)
        } catch {
            throw LoadError(message: "\(attribute) '\(path)' cannot be loaded: \(error)")
        }
    }

    private struct LoadError: Error { let message: String }

    private static func loadFailure(_ error: any Error) -> String {
        (error as? LoadError)?.message ?? "the TLS settings cannot be used: \(error)"
    }

    private static func stamp(_ path: String) -> FileStamp {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return FileStamp(
            path: path,
            size: (attributes?[.size] as? NSNumber)?.intValue ?? -1,
            modified: attributes?[.modificationDate] as? Date,
            inode: (attributes?[.systemFileNumber] as? NSNumber)?.intValue ?? -1
        )
    }

    /// Whether `host` is an IPv4 or IPv6 literal (which SNI cannot carry).
    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
