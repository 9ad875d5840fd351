import ArgumentParser
import Logging

#if HummingbirdSupport
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle
import SessionHTTP
import SessionHummingbird
import SessionManager
import HummingbirdSampleApp
import SessionSampleApp

/// The sample's routes as a Hummingbird 2 app with ``ClusterSessionMiddleware``: the same bodies,
/// options and configuration files as `SessionSample`, so that the two can serve one cluster.
@main
struct HummingbirdSample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs the swift-session-manager sample on Hummingbird 2 (/myapp/count, /myapp/read, /myapp/plain, /myapp/)."
    )

    @OptionGroup var options: SampleCommandOptions

    func run() async throws {
        try options.bootstrap()
        let logger = Logger(label: "hummingbird-sample")
        let sessions: ClusterSessions
        do {
            if let config = options.config {
                sessions = try ClusterSessions(contentsOf: config, apps: ["sample", StatusApp.name], logger: logger)
            } else {
                sessions = try ClusterSessions(configuration: try SampleServer.defaultConfiguration(port: options.port), logger: logger)
            }
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
        let router = Router(context: BasicClusterSessionRequestContext.self)
        for context in sessions.configuration.contexts {
            guard context.app == "sample" else {
                logger.notice("context '\(context.path)' (app \(context.app)) is not served by the Hummingbird sample")
                continue
            }
            let routes = HummingbirdSampleRoutes(content: try SampleContent(jvmRoute: sessions.configuration.jvmRoute), contextPath: context.path)
            routes.add(to: router, middleware: try sessions.middleware(forContext: context.path))
        }
        let connector = sessions.configuration.connector
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(connector.address, port: connector.port), serverName: nil),
            logger: logger
        )
        // After the server in the service group, so they stop after it (and write the last changes).
        app.addServices(sessions.managers)
        try await app.runService()
    }
}

#else
/// Built without the `HummingbirdSupport` trait: says how to build it.
@main
struct HummingbirdSample: ParsableCommand {
    func run() throws {
        print("HummingbirdSample needs the HummingbirdSupport trait: swift build --traits HummingbirdSupport --product HummingbirdSample")
        throw ExitCode(64)
    }
}
#endif
