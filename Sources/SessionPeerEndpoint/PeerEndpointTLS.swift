import NIOSSL

/// The endpoint's TLS identity: its certificate chain and key, as PEM files. Its peers connect as
/// to a TLS memcached (`memcacheds://`) and verify it like any store, so a peer on a shared
/// network is sure it hands its users' sessions to this node.
package struct PeerEndpointTLS: Sendable, Equatable {
    /// The server certificate, then any intermediates (PEM).
    package var certificateFile: String
    /// Its private key (PEM).
    package var keyFile: String

    package init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Reads both files and builds the server context: called when the endpoint is made, so that
    /// files that cannot be used stop the server at start.
    /// - Throws: ``PeerEndpointError`` naming the file and why.
    func context() throws(PeerEndpointError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw PeerEndpointError("certificateFile '\(certificateFile)' cannot be loaded: \(error)")
        }
        guard !chain.isEmpty else { throw PeerEndpointError("certificateFile '\(certificateFile)' holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw PeerEndpointError("keyFile '\(keyFile)' cannot be loaded: \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw PeerEndpointError("certificateFile '\(certificateFile)' and keyFile '\(keyFile)' do not make a TLS identity (is the key the certificate's?): \(error)")
        }
    }
}

/// Why the endpoint cannot start: a message naming what to fix.
package struct PeerEndpointError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
