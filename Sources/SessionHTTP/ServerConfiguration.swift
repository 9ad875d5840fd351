import SessionManager

/// A whole server: one connector, the engine's route, and the hosted contexts (Tomcat's `server.xml`).
public struct ServerConfiguration: Sendable {
    /// Where and how the server listens.
    public var connector: ConnectorConfiguration
    /// This node's route, appended to session ids for sticky load balancers (`Engine jvmRoute`). Default: none.
    public var jvmRoute: String?
    /// The hosted applications.
    public var contexts: [ContextConfiguration]
    /// This node's store endpoint for its peers (`<SessionPeer>`), if any.
    public var peer: SessionPeerConfiguration? = nil

    /// Creates a server configuration.
    public init(connector: ConnectorConfiguration = .init(), jvmRoute: String? = nil, contexts: [ContextConfiguration]) {
        self.connector = connector
        self.jvmRoute = jvmRoute
        self.contexts = contexts
    }
}

/// The listening socket and the limits applied to every connection (Tomcat `<Connector>` names).
public struct ConnectorConfiguration: Sendable {
    /// Address to bind. Default: `127.0.0.1` (use `0.0.0.0` to accept remote clients).
    public var address: String
    /// TCP port; 0 picks a free one. Default: 8080.
    public var port: Int
    /// Largest request line + header lines, in bytes (line ends included); larger requests get
    /// `431` and the connection closes. Default: 16384.
    public var maxHttpHeaderSize: Int
    /// Largest request body, in bytes; larger bodies get `413` (at once when declared by
    /// `Content-Length`, with no `100 Continue`) and the connection closes. Default: 1 MiB.
    public var maxPostSize: Int
    /// The longest the server waits for a whole request, head and body, counted from when it
    /// starts waiting (the connection opened, or the previous response was written). A late body
    /// gets `408`; a late head, or an idle keep-alive connection, is closed without an answer.
    /// Bytes trickling in do not extend it. Default: 60 seconds (Tomcat `connectionTimeout`).
    public var connectionTimeout: Duration
    /// On graceful shutdown, how long requests under way may take before their connections are
    /// closed anyway. Default: 10 seconds.
    public var shutdownTimeout: Duration

    /// Creates a connector configuration; see the properties for defaults.
    public init(
        address: String = "127.0.0.1",
        port: Int = 8080,
        maxHttpHeaderSize: Int = 16384,
        maxPostSize: Int = 1 << 20,
        connectionTimeout: Duration = .seconds(60),
        shutdownTimeout: Duration = .seconds(10)
    ) {
        self.address = address
        self.port = port
        self.maxHttpHeaderSize = maxHttpHeaderSize
        self.maxPostSize = maxPostSize
        self.connectionTimeout = connectionTimeout
        self.shutdownTimeout = shutdownTimeout
    }
}

/// One hosted application (Tomcat `<Context>`).
public struct ContextConfiguration: Sendable {
    /// Context path: `""` (root) or `/name`. Requests are routed by longest prefix.
    public var path: String
    /// Name of the registered app to mount.
    public var app: String
    /// Session cookie settings.
    public var cookie: SessionCookieConfiguration
    /// Session settings; a context without `<Manager>` keeps sessions in the embedded memory store.
    public var manager: ManagerConfiguration

    /// Creates a context configuration.
    public init(path: String, app: String, cookie: SessionCookieConfiguration = .init(), manager: ManagerConfiguration = .init()) {
        self.path = path
        self.app = app
        self.cookie = cookie
        self.manager = manager
    }
}

/// This app node's store endpoint (`<SessionPeer>` in `<Engine>`, issue 32): it keeps its peers'
/// session copies and serves them over the memcached text protocol, as the node `nodeID` of
/// their `memcachedNodes`.
public struct SessionPeerConfiguration: Sendable, Equatable {
    /// Which entry of `memcachedNodes` this endpoint is.
    public var nodeID: String
    /// Where it listens. Default: `127.0.0.1` (any other address needs authentication and TLS).
    public var address: String
    /// Its port.
    public var port: Int
    /// The most bytes its copies may take (keys, values and a fixed overhead each); past it the
    /// least recently used copies are evicted. Default: 64 MiB.
    public var maxBytes: Int
    /// The login its peers must give first (their `username`), or `nil` for none (loopback only).
    public var username: String?
    /// The password of that login (their `password`); never logged.
    public var password: String?
    /// Its TLS certificate chain (PEM), or `nil` for plaintext (loopback only). Its peers name it
    /// `memcacheds://` in `memcachedNodes` and verify it as any TLS store.
    public var certificateFile: String?
    /// The certificate's private key (PEM).
    public var keyFile: String?

    /// Creates the configuration.
    public init(
        nodeID: String,
        port: Int,
        address: String = "127.0.0.1",
        maxBytes: Int = 64 << 20,
        username: String? = nil,
        password: String? = nil,
        certificateFile: String? = nil,
        keyFile: String? = nil
    ) {
        self.nodeID = nodeID
        self.port = port
        self.address = address
        self.maxBytes = maxBytes
        self.username = username
        self.password = password
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Whether ``address`` is this machine's loopback, where nobody else can connect.
    public var isLoopback: Bool {
        address == "localhost" || address == "::1" || address.hasPrefix("127.")
    }

    /// Why this endpoint must not start, or `nil`: half a login or half a TLS identity, or an
    /// address others can reach without both (whoever reaches a writable endpoint can plant a
    /// session, and whoever reads its traffic reads the sessions).
    public var refusal: String? {
        if (username == nil) != (password == nil) { return "needs both username and password, or neither" }
        if (certificateFile == nil) != (keyFile == nil) { return "needs both certificateFile and keyFile, or neither" }
        if !isLoopback && (username == nil || certificateFile == nil) {
            return "listens on \(address), which others can reach: it needs username and password (its peers log in) and certificateFile and keyFile (TLS), or a loopback address"
        }
        return nil
    }
}
