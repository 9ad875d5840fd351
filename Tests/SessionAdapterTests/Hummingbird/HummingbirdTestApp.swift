#if HummingbirdSupport
import Foundation
import Hummingbird
import HummingbirdSampleApp
import HummingbirdTesting
import Logging
import SessionHTTP
import SessionHummingbird
import SessionManager
import SessionSampleApp
import SessionStores
import SessionTesting
import Testing

/// The sample's routes on Hummingbird with the middleware, in this process, served live on a free
/// port with Hummingbird's testing library.
enum HummingbirdTestApp {
    /// The adapters' checks, on this app and on `HummingbirdSample`.
    static let contract = AdapterContract(
        executable: "HummingbirdSample",
        clusterVariant: "hummingbird-redis",
        clusterSamples: { ["HUMMINGBIRD_SAMPLE": try SampleExecutable("HummingbirdSample").url().path] }
    ) { jvmRoute, configure, body in
        try await with(jvmRoute: jvmRoute, configure: configure, body)
    }

    /// Builds the app for one context `/myapp` with `manager` settings (`jvmRoute` optional), runs
    /// it live, and gives `body` its port and manager.
    static func with<T: Sendable>(
        jvmRoute: String? = nil,
        configure: (inout ManagerConfiguration) throws -> Void = { _ in },
        _ body: @Sendable (_ port: Int, _ manager: SessionManager) async throws -> T
    ) async throws -> T {
        var manager = ManagerConfiguration(storageKeyPrefix: "sm:/myapp:")
        manager.requestUriIgnorePattern = try RequestURIIgnorePattern(RequestURIIgnorePattern.defaultPattern)
        try configure(&manager)
        var logger = Logger(label: "hummingbird-test")
        logger.logLevel = .warning
        let sessions = try ClusterSessions(
            configuration: ServerConfiguration(jvmRoute: jvmRoute, contexts: [ContextConfiguration(path: "/myapp", app: "sample", manager: manager)]),
            logger: logger
        )
        let router = Router(context: BasicClusterSessionRequestContext.self)
        HummingbirdSampleRoutes(content: try SampleContent(jvmRoute: jvmRoute), contextPath: "/myapp")
            .add(to: router, middleware: try sessions.middleware(forContext: "/myapp"))
        addFailingRoutes(to: router, middleware: try sessions.middleware(forContext: "/myapp"))
        var app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        app.addServices(sessions.managers)
        let manager0 = try sessions.adapter(forContext: "/myapp").manager
        return try await app.test(.live) { client in
            let port = try #require(client.port)
            return try await body(port, manager0)
        }
    }

    struct HandlerFailure: Error {}

    /// Routes whose handlers throw, under `/myapp/errors`, and one without the middleware.
    static func addFailingRoutes(to router: Router<BasicClusterSessionRequestContext>, middleware: ClusterSessionMiddleware<BasicClusterSessionRequestContext>) {
        let errors = router.group("/myapp/errors").add(middleware: middleware)
        errors.get("created-then-http-error") { _, context -> String in
            _ = try await context.session()
            throw HTTPError(.badRequest, message: "bad")
        }
        errors.get("http-error") { _, _ -> String in throw HTTPError(.conflict) }
        errors.get("created-then-failure") { _, context -> String in
            _ = try await context.session()
            throw HandlerFailure()
        }
        errors.get("unavailable") { _, _ -> String in throw SessionManagerError(.storeUnavailable, "test") }
        router.get("/no-middleware") { _, context -> String in
            _ = try await context.session()
            return "unreachable\n"
        }
    }
}
#endif
