import ArgumentParser
import Logging

#if VaporSupport
import Foundation
import SessionHTTP
import SessionSampleApp
import SessionVapor
import Vapor
import VaporSampleApp

/// The sample's routes as a Vapor 4 app with ``ClusterSessionMiddleware``: the same bodies,
/// options and configuration files as `SessionSample`, so that the two can serve one cluster. A
/// context whose `app` is `sample-session-data` serves `count` and `read` with Vapor's own
/// `req.session.data` on ``ClusterSessionDriver`` instead.
@main
struct VaporSample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs the swift-session-manager sample on Vapor 4 (/myapp/count, /myapp/read, /myapp/plain, /myapp/)."
    )

    /// The `<Context app=…>` served with `req.session.data` on the driver.
    static let sessionDataApp = "sample-session-data"

    @OptionGroup var options: SampleCommandOptions

    func run() async throws {
        try options.bootstrap()
        let logger = Logger(label: "vapor-sample")
        let sessions: ClusterSessions
        do {
            if let config = options.config {
                sessions = try ClusterSessions(contentsOf: config, apps: ["sample", Self.sessionDataApp, StatusApp.name], logger: logger)
            } else {
                sessions = try ClusterSessions(configuration: try SampleServer.defaultConfiguration(port: options.port), logger: logger)
            }
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        // Vapor's own command line is not ours: it gets none of our options.
        let app = try await Application.make(Environment(name: "production", arguments: [CommandLine.arguments[0]]), logger: logger)
        let connector = sessions.configuration.connector
        app.http.server.configuration.hostname = connector.address
        app.http.server.configuration.port = connector.port
        app.http.server.configuration.serverName = nil
        app.lifecycle.use(sessions)
        for context in sessions.configuration.contexts {
            let routes = VaporSampleRoutes(content: try SampleContent(jvmRoute: sessions.configuration.jvmRoute), contextPath: context.path)
            switch context.app {
            case "sample":
                routes.add(to: app, middleware: try sessions.middleware(forContext: context.path))
            case Self.sessionDataApp:
                routes.addSessionData(
                    to: app,
                    driver: try sessions.driver(forContext: context.path),
                    configuration: try sessions.sessionsConfiguration(forContext: context.path)
                )
            default:
                logger.notice("context '\(context.path)' (app \(context.app)) is not served by the Vapor sample")
            }
        }
        do {
            try await app.execute()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }
}

#else
/// Built without the `VaporSupport` trait: says how to build it.
@main
struct VaporSample: ParsableCommand {
    func run() throws {
        print("VaporSample needs the VaporSupport trait: swift build --traits VaporSupport --product VaporSample")
        throw ExitCode(64)
    }
}
#endif
