#if HummingbirdSupport
import Hummingbird
import Logging
import ServiceLifecycle
import SessionConfigXML
import SessionHTTP
import SessionManager

/// The session managers of a configuration file's contexts, for a Hummingbird app: the same
/// `server.xml`-like file the bundled server reads (`<Engine jvmRoute>`, each `<Context>`'s
/// `<Manager>` and cookie settings), so a cluster can mix both and move between them.
///
/// ```swift
/// let sessions = try ClusterSessions(contentsOf: "node1.xml", apps: ["myapp"], logger: logger)
/// let router = Router(context: BasicClusterSessionRequestContext.self)
/// router.group("myapp").add(middleware: try sessions.middleware(forContext: "/myapp"))
/// var app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: sessions.configuration.connector.port)))
/// app.addServices(sessions.managers)
/// ```
public struct ClusterSessions: Sendable {
    /// The contexts' adapters, built as for every framework.
    public let contexts: ConfiguredSessions

    /// The file's configuration (connector, `jvmRoute`, contexts).
    public var configuration: ServerConfiguration { contexts.configuration }
    /// One adapter per context, in the file's order.
    public var adapters: [SessionHTTPAdapter] { contexts.adapters }

    /// The managers to add to the application's services (`app.addServices(sessions.managers)`).
    public var managers: [any Service] { contexts.managers }

    /// Reads a configuration file and builds each context's manager (see
    /// ``ConfiguredSessions/init(contentsOf:apps:logger:)``).
    /// - Parameter apps: The names a `<Context app=…>` may give (the routes are the Hummingbird
    ///   app's; the name says which of its route groups a context is); another name is refused.
    /// - Throws: ``ServerXMLError`` (file:line:column) for a bad file, ``SessionManagerError`` for
    ///   settings refused as a whole (``ManagerConfiguration/validate()``).
    public init(contentsOf path: String, apps: Set<String>, logger: Logger) throws {
        self.contexts = try ConfiguredSessions(contentsOf: path, apps: apps, logger: logger)
    }

    /// Builds each context's manager from a configuration made in Swift or read from a file.
    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.contexts = try ConfiguredSessions(configuration: configuration, logger: logger)
    }

    /// The adapter of the context at `path` (`/myapp`; `""` or `/` for the root).
    public func adapter(forContext path: String) throws -> SessionHTTPAdapter {
        try contexts.adapter(forContext: path)
    }

    /// The middleware of the context at `path`, for a router group of that path.
    public func middleware<Context: ClusterSessionRequestContext>(
        forContext path: String,
        context: Context.Type = Context.self
    ) throws -> ClusterSessionMiddleware<Context> {
        ClusterSessionMiddleware(adapter: try adapter(forContext: path))
    }
}
#endif
