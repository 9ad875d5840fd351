import ArgumentParser
import CoreMetrics
import Logging
import Prometheus
import NIOCore
import ServiceLifecycle
import UnixSignals
import SessionConfigXML
import SessionHTTP
import SessionSampleApp

/// Runs the sample webapp: with no arguments on port 8080 with the embedded memory store, or from
/// a `server.xml`-like file. Stops gracefully on SIGINT/SIGTERM.
@main
struct SessionSample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs the swift-session-manager sample app (/myapp/count, /myapp/read, /myapp/plain, /myapp/)."
    )

    @Option(name: .long, help: "A server.xml-like configuration file (see README).")
    var config: String?

    @Option(name: .long, help: "Port when running without --config (default 8080).")
    var port: Int = 8080

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Event loop threads (default: one per CPU core).")
    var threads: Int?

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        if let threads {
            guard threads > 0 else { throw ValidationError("--threads must be at least 1") }
            NIOSingletons.groupLoopCountSuggestion = threads
        }
        let logger = Logger(label: "session-sample")
        let serverConfiguration: ServerConfiguration
        do {
            if let config {
                serverConfiguration = try SampleServer.loadConfiguration(path: config)
            } else {
                serverConfiguration = try SampleServer.defaultConfiguration(port: port)
            }
        } catch {
            FileHandleOutput.standardError("\(error)\n")
            throw ExitCode(2)
        }
        // The program picks the metrics backend (the library never does): Prometheus, served by
        // the status app (`<Context path="/status" app="metrics"/>`) at /status/metrics.
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Store operations take tens of microseconds to milliseconds: finer buckets than the
        // default (5 ms to 10 s).
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        ]
        MetricsSystem.bootstrap(factory)
        let server = try SampleServer.makeServer(
            configuration: serverConfiguration,
            metricsExposition: { registry.emitToBuffer() },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
