import Logging
import SessionHTTP
import SessionManager
import SessionStores

/// The session managers of a configuration's contexts, each behind its framework-neutral
/// ``SessionHTTPAdapter``: what every framework adapter (`SessionHummingbird`, `SessionVapor`)
/// builds from the `server.xml`-like file the bundled server reads, so that a cluster can mix
/// them and move between them. The framework adapters wrap it in their own `ClusterSessions`.
public struct ConfiguredSessions: Sendable {
    /// The file's configuration (connector, `jvmRoute`, contexts).
    public let configuration: ServerConfiguration
    /// One adapter per context, in the file's order.
    public let adapters: [SessionHTTPAdapter]

    /// The contexts' managers, in the file's order.
    public var managers: [SessionManager] { adapters.map(\.manager) }

    /// Reads a configuration file and builds each context's manager on the store nodes its
    /// `<Manager memcachedNodes=…>` names (the memory store without one).
    /// - Parameter apps: The names a `<Context app=…>` may give (the routes are the framework
    ///   app's; the name says which of its route groups a context is); another name is refused.
    /// - Throws: ``ServerXMLError`` (file:line:column) for a bad file, ``SessionManagerError`` for
    ///   settings refused as a whole (``ManagerConfiguration/validate()``).
    public init(contentsOf path: String, apps: Set<String>, logger: Logger) throws {
        try self.init(configuration: try ServerXMLLoader(knownApps: apps).load(contentsOf: path), logger: logger)
    }

    /// Builds each context's manager from a configuration made in Swift or read from a file.
    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.adapters = try configuration.contexts.map { context in
            let manager = try context.makeManager(jvmRoute: configuration.jvmRoute, logger: logger) { context in
                try SessionStores.makeNodes(for: context.manager, logger: context.logger(from: logger))
            }
            return SessionHTTPAdapter(manager: manager, cookie: context.cookie, contextPath: context.path)
        }
    }

    /// The adapter of the context at `path` (`/myapp`; `""` or `/` for the root).
    /// - Throws: ``SessionManagerError/Code/invalidConfiguration`` naming the contexts there are.
    public func adapter(forContext path: String) throws -> SessionHTTPAdapter {
        let wanted = path.isEmpty ? "/" : path
        guard let adapter = adapters.first(where: { $0.cookiePath == wanted }) else {
            throw SessionManagerError(
                .invalidConfiguration,
                "no context '\(path)' in the configuration; it has \(adapters.map(\.cookiePath).joined(separator: ", "))"
            )
        }
        return adapter
    }
}
