#if VaporSupport
import Logging
import SessionConfigXML
import SessionHTTP
import SessionManager
import Vapor

/// The session managers of a configuration file's contexts, for a Vapor app: the same
/// `server.xml`-like file the bundled server reads (`<Engine jvmRoute>`, each `<Context>`'s
/// `<Manager>` and cookie settings), so a cluster can mix both and move between them. It is the
/// managers' lifecycle handler too: `app.lifecycle.use(sessions)` runs them while the app runs and
/// stops them after its server (see ``SessionManagersLifecycle``).
///
/// ```swift
/// let sessions = try ClusterSessions(contentsOf: "node1.xml", apps: ["myapp"], logger: app.logger)
/// app.lifecycle.use(sessions)
/// let myapp = app.grouped("myapp").grouped(try sessions.middleware(forContext: "/myapp"))
/// myapp.get("count") { req async throws -> String in
///     let session = try await req.clusterSession()
///     return "\(session.update("count", as: Int.self) { $0 = ($0 ?? 0) + 1; return $0! })"
/// }
/// ```
public struct ClusterSessions: LifecycleHandler {
    /// The contexts' adapters, built as for every framework.
    public let contexts: ConfiguredSessions
    /// Runs the managers with the application.
    public let lifecycle: SessionManagersLifecycle

    /// The file's configuration (connector, `jvmRoute`, contexts).
    public var configuration: ServerConfiguration { contexts.configuration }
    /// One adapter per context, in the file's order.
    public var adapters: [SessionHTTPAdapter] { contexts.adapters }
    /// The contexts' managers.
    public var managers: [SessionManager] { contexts.managers }

    /// Reads a configuration file and builds each context's manager (see
    /// ``ConfiguredSessions/init(contentsOf:apps:logger:)``).
    /// - Parameter apps: The names a `<Context app=…>` may give (the routes are the Vapor app's;
    ///   the name says which of its route groups a context is); another name is refused.
    /// - Throws: ``ServerXMLError`` (file:line:column) for a bad file, ``SessionManagerError`` for
    ///   settings refused as a whole (``ManagerConfiguration/validate()``).
    public init(contentsOf path: String, apps: Set<String>, logger: Logger) throws {
        self.init(contexts: try ConfiguredSessions(contentsOf: path, apps: apps, logger: logger))
    }

    /// Builds each context's manager from a configuration made in Swift or read from a file.
    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.init(contexts: try ConfiguredSessions(configuration: configuration, logger: logger))
    }

    private init(contexts: ConfiguredSessions) {
        self.contexts = contexts
        self.lifecycle = SessionManagersLifecycle(managers: contexts.managers)
    }

    /// The adapter of the context at `path` (`/myapp`; `""` or `/` for the root).
    public func adapter(forContext path: String) throws -> SessionHTTPAdapter {
        try contexts.adapter(forContext: path)
    }

    /// The middleware of the context at `path`, for a route group of that path.
    public func middleware(forContext path: String) throws -> ClusterSessionMiddleware {
        ClusterSessionMiddleware(adapter: try adapter(forContext: path))
    }

    /// A Vapor `SessionDriver` on the store of the context at `path`, for an app that keeps using
    /// `req.session.data`: `app.sessions.use(.cluster(try sessions.driver(forContext: "/")))`.
    public func driver(forContext path: String) throws -> ClusterSessionDriver {
        ClusterSessionDriver(manager: try adapter(forContext: path).manager)
    }

    /// Vapor's session cookie settings for the context at `path`, as its `<Context>` gives them
    /// (name, `Path`, `HttpOnly`, `Secure`, `SameSite`, domain), for `SessionsMiddleware` with
    /// ``driver(forContext:)``. A browser-session cookie, as the middleware's: no `Expires`, whose
    /// formatting costs Vapor's default cookie most of its time.
    public func sessionsConfiguration(forContext path: String) throws -> SessionsConfiguration {
        let adapter = try adapter(forContext: path)
        let cookie = adapter.cookie
        let sameSite: HTTPCookies.SameSitePolicy = switch cookie.sameSite {
        case .strict: .strict
        case .lax: .lax
        case .none: HTTPCookies.SameSitePolicy.none
        }
        let cookiePath = adapter.cookiePath
        return SessionsConfiguration(cookieName: cookie.name) { id in
            HTTPCookies.Value(
                string: id.string, expires: nil, maxAge: nil, domain: cookie.domain, path: cookiePath,
                isSecure: cookie.secure, isHTTPOnly: true, sameSite: sameSite
            )
        }
    }

    public func willBootAsync(_ application: Application) async throws {
        try await lifecycle.willBootAsync(application)
    }

    public func willBoot(_ application: Application) throws {
        try lifecycle.willBoot(application)
    }

    public func shutdownAsync(_ application: Application) async {
        await lifecycle.shutdownAsync(application)
    }
}
#endif
