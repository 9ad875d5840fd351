import Logging
import NIOCore
import NIOPosix
import SessionManager
import SessionPeerEndpoint

/// Makes the app of a context from its configuration (registered under a name, like a webapp's WAR).
public typealias HTTPAppFactory = @Sendable (ContextConfiguration) throws -> any HTTPApp

/// Makes the store of a context from its `<Manager>` settings.
public typealias SessionStoreFactory = @Sendable (ContextConfiguration) throws -> any SessionStore

/// Makes the store nodes of a context from its `<Manager>` settings (`SessionStores.makeNodes`).
public typealias SessionNodesFactory = @Sendable (ContextConfiguration) throws -> [SessionStoreNode]

extension HTTPServer {
    /// The embedded default: every context gets its own ``MemorySessionStore``. A context that
    /// configures `memcachedNodes` is refused rather than silently kept in memory: build such a
    /// server with the nodes of `SessionStores.makeNodes` (``init(configuration:apps:nodes:eventLoopGroup:logger:)``).
    public static let memoryStores: SessionStoreFactory = { context in
        if context.manager.enabled && !context.manager.memcachedNodes.isEmpty {
            throw SessionManagerError(
                .invalidConfiguration,
                "context '\(context.path)' configures memcachedNodes, and this server was built with memory stores only; build it with SessionStores.makeNodes (as SessionSample does)"
            )
        }
        return MemorySessionStore()
    }

    /// Creates a server from a whole configuration: mounts each context's app (looked up by name in
    /// `apps`) with a session manager on the store that `stores` makes for it.
    /// - Throws: ``SessionManagerError`` naming the context when its app is not registered.
    public convenience init(
        configuration: ServerConfiguration,
        apps: [String: HTTPAppFactory],
        stores: SessionStoreFactory = HTTPServer.memoryStores,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws {
        try self.init(
            configuration: configuration,
            apps: apps,
            nodes: { [SessionStoreNode(id: nil, store: try stores($0))] },
            eventLoopGroup: eventLoopGroup,
            logger: logger
        )
    }

    /// Creates a server from a whole configuration whose contexts may have several store nodes:
    /// mounts each context's app with a session manager on the nodes that `nodes` makes for it.
    /// - Throws: ``SessionManagerError`` naming the context when its app is not registered, or
    ///   when its `<Manager>` settings are refused (``ManagerConfiguration/validate()``).
    public convenience init(
        configuration: ServerConfiguration,
        apps: [String: HTTPAppFactory],
        nodes: SessionNodesFactory,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws {
        let contexts = try configuration.contexts.map { context -> MountedContext in
            guard let makeApp = apps[context.app] else {
                throw SessionManagerError(
                    .invalidConfiguration,
                    "context '\(context.path)': no app named '\(context.app)'; known: \(apps.keys.sorted().joined(separator: ", "))"
                )
            }
            let manager = try context.makeManager(jvmRoute: configuration.jvmRoute, logger: logger, nodes: nodes)
            return MountedContext(
                path: context.path,
                app: try makeApp(context),
                sessions: SessionMiddleware(manager: manager, cookie: context.cookie, contextPath: context.path, logger: context.logger(from: logger))
            )
        }
        let peer = try configuration.peer.map { try Self.endpoint($0, logger: logger) }
        self.init(connector: configuration.connector, contexts: contexts, peer: peer, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// This node's store endpoint from its configuration.
    /// - Throws: ``SessionManagerError`` (`invalidConfiguration`) when the configuration is refused
    ///   (``SessionPeerConfiguration/refusal``) or its TLS files cannot be used.
    private static func endpoint(_ peer: SessionPeerConfiguration, logger: Logger) throws -> PeerEndpoint {
        if let refusal = peer.refusal { throw SessionManagerError(.invalidConfiguration, "<SessionPeer nodeId=\"\(peer.nodeID)\"> \(refusal)") }
        let credentials = peer.username.flatMap { username in peer.password.map { (username: username, password: $0) } }
        let tls = peer.certificateFile.flatMap { certificate in peer.keyFile.map { PeerEndpointTLS(certificateFile: certificate, keyFile: $0) } }
        do {
            return try PeerEndpoint(
                host: peer.address, port: peer.port, nodeID: peer.nodeID, limitBytes: peer.maxBytes,
                credentials: credentials, tls: tls, logger: logger
            )
        } catch {
            throw SessionManagerError(.invalidConfiguration, "<SessionPeer nodeId=\"\(peer.nodeID)\">: \(error.description)")
        }
    }
}
