import Logging
import NIOCore
import NIOPosix
import SessionManager

/// Makes the app of a context from its configuration (registered under a name, like a webapp's WAR).
public typealias HTTPAppFactory = @Sendable (ContextConfiguration) throws -> any HTTPApp

/// Makes the store of a context from its `<Manager>` settings.
public typealias SessionStoreFactory = @Sendable (ContextConfiguration) throws -> any SessionStore

extension HTTPServer {
    /// The embedded default: every context gets its own ``MemorySessionStore``.
    public static let memoryStores: SessionStoreFactory = { _ in MemorySessionStore() }

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
        let contexts = try configuration.contexts.map { context -> MountedContext in
            guard let makeApp = apps[context.app] else {
                throw SessionManagerError(
                    .invalidConfiguration,
                    "context '\(context.path)': no app named '\(context.app)'; known: \(apps.keys.sorted().joined(separator: ", "))"
                )
            }
            var contextLogger = logger
            contextLogger[metadataKey: "sm.context"] = "\(context.path.isEmpty ? "/" : context.path)"
            let manager = SessionManager(
                configuration: context.manager,
                store: try stores(context),
                jvmRoute: configuration.jvmRoute,
                logger: contextLogger
            )
            return MountedContext(
                path: context.path,
                app: try makeApp(context),
                sessions: SessionMiddleware(manager: manager, cookie: context.cookie, contextPath: context.path, logger: contextLogger)
            )
        }
        self.init(connector: configuration.connector, contexts: contexts, eventLoopGroup: eventLoopGroup, logger: logger)
    }
}
