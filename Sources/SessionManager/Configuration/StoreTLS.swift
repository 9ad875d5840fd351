/// How a context's store connections use TLS: whom to trust, who we are, which name to check.
///
/// Whether a node is reached over TLS is said by its entry in `memcachedNodes` (`rediss://`,
/// `rediss-cluster://`, `rediss-sentinel://`, `memcacheds://`); these settings apply to every such
/// node of the context (`<Manager tlsCAFile="…" …>`). The defaults verify the server's certificate
/// chain against the system's trust store and its name against the host of the node, as a browser
/// does: a session store holds login state, so nothing is trusted that was not checked.
///
/// The files are read when the store starts and again whenever a connection is opened after one
/// of them changed (its size, modification time or inode), so a rotated certificate or key is used
/// by the next connection without a restart.
public struct StoreTLS: Sendable, Hashable {
    /// PEM CA certificates to trust instead of the system's (`tlsCAFile`). Default: the system's.
    public var caFile: String?
    /// PEM client certificate (chain) for mutual TLS (`tlsCertificateFile`); needs ``keyFile``.
    public var certificateFile: String?
    /// PEM private key of ``certificateFile`` (`tlsKeyFile`).
    public var keyFile: String?
    /// The name every node's certificate is verified against and that is sent as SNI
    /// (`tlsServerName`), for nodes given by IP address (Redis Cluster and Sentinel hand out IPs).
    /// Default: each node's host; a node given by IP is then checked against the IP addresses of
    /// its certificate.
    public var serverName: String?
    /// How much of the server's certificate is checked (`tlsVerify`). Default: ``TLSVerification/full``.
    public var verify: TLSVerification

    /// Creates the settings; the defaults verify fully against the system's trust store.
    public init(
        caFile: String? = nil,
        certificateFile: String? = nil,
        keyFile: String? = nil,
        serverName: String? = nil,
        verify: TLSVerification = .full
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.verify = verify
    }

    /// Whether any setting differs from the default (used to refuse TLS settings on a context
    /// none of whose nodes uses TLS: a likely `redis://` meant as `rediss://`).
    public var isCustomised: Bool { self != StoreTLS() }
}

/// How much of a store server's certificate is checked (`tlsVerify`).
public enum TLSVerification: String, Sendable, Hashable, CaseIterable {
    /// The chain up to a trusted CA, the validity dates, and the name (``StoreTLS/serverName`` or
    /// the node's host). The default.
    case full
    /// The chain and dates, not the name: for clusters addressed by IP whose certificates name
    /// no common host. The server logs a warning at start.
    case noHostname
    /// Nothing: the connection is encrypted but the server is not authenticated, so anyone on the
    /// path can pose as it. For tests only; the server logs a warning at start.
    case none
}
