#if VaporSupport
import Foundation
import Logging
import SessionConfigXML
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionTesting
import SessionVapor
import Testing
import Vapor
import VaporSampleApp

/// The sample's routes on Vapor with the middleware, in this process, served live on a free port
/// (Vapor's testing library runs the application's lifecycle).
enum VaporTestApp {
    /// The adapters' checks, on this app and on `VaporSample`.
    static let contract = AdapterContract(
        executable: "VaporSample",
        clusterVariant: "vapor-redis",
        clusterSamples: { ["VAPOR_SAMPLE": try SampleExecutable("VaporSample").url().path, "SESSION_SAMPLE": try SampleExecutable("SessionSample").url().path] }
    ) { jvmRoute, configure, body in
        try await with(jvmRoute: jvmRoute, configure: configure, body)
    }

    /// Builds the app for one context `/myapp` with `manager` settings (`jvmRoute` optional), runs
    /// it live, and gives `body` its port and manager.
    static func with(
        jvmRoute: String? = nil,
        configure: (inout ManagerConfiguration) throws -> Void = { _ in },
        _ body: @Sendable (_ port: Int, _ manager: SessionManager) async throws -> Void
    ) async throws {
        var manager = ManagerConfiguration(storageKeyPrefix: "sm:/myapp:")
        manager.requestUriIgnorePattern = try RequestURIIgnorePattern(RequestURIIgnorePattern.defaultPattern)
        try configure(&manager)
        let sessions = try ClusterSessions(
            configuration: ServerConfiguration(jvmRoute: jvmRoute, contexts: [ContextConfiguration(path: "/myapp", app: "sample", manager: manager)]),
            logger: logger
        )
        let content = try SampleContent(jvmRoute: jvmRoute)
        let middleware = try sessions.middleware(forContext: "/myapp")
        try await serve(sessions, routes: { app in
            VaporSampleRoutes(content: content, contextPath: "/myapp").add(to: app, middleware: middleware)
            addFailingRoutes(to: app, middleware: middleware)
        }, { port in
            try await body(port, middleware.adapter.manager)
        })
    }

    static var logger: Logger {
        var logger = Logger(label: "vapor-test")
        logger.logLevel = .warning
        return logger
    }

    /// Runs an app with `sessions`' lifecycle and the routes `routes` adds, served on a free port
    /// of 127.0.0.1 until `body` returns; then the app shuts down as on SIGTERM.
    static func serve(
        _ sessions: ClusterSessions,
        routes: (Application) throws -> Void,
        _ body: (_ port: Int) async throws -> Void
    ) async throws {
        // As VaporTesting's `withApp`, whose closure cannot be sent from here under strict concurrency.
        let app = try await Application.make(.testing, logger: logger)
        do {
            app.lifecycle.use(sessions)
            try routes(app)
            try await app.asyncBoot()
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let port = try #require(app.http.server.shared.localAddress?.port)
            try await body(port)
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    struct HandlerFailure: Error {}

    /// Routes whose handlers throw, under `/myapp/errors` (Vapor's `Abort` for the framework's
    /// HTTP errors), and one without the middleware.
    static func addFailingRoutes(to app: Application, middleware: ClusterSessionMiddleware) {
        let errors = app.grouped("myapp", "errors").grouped(middleware)
        errors.get("created-then-http-error") { req async throws -> String in
            _ = try await req.clusterSession()
            throw Abort(.badRequest, reason: "bad")
        }
        errors.get("http-error") { _ async throws -> String in throw Abort(.conflict) }
        errors.get("created-then-failure") { req async throws -> String in
            _ = try await req.clusterSession()
            throw HandlerFailure()
        }
        errors.get("unavailable") { _ async throws -> String in throw SessionManagerError(.storeUnavailable, "test") }
        app.get("no-middleware") { req async throws -> String in
            _ = try await req.clusterSession()
            return "unreachable\n"
        }
    }
}
#endif
