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

    @OptionGroup var options: SampleCommandOptions

    func run() async throws {
        try options.bootstrap()
        let logger = Logger(label: "session-sample")
        let serverConfiguration: ServerConfiguration
        do {
            if let config = options.config {
                serverConfiguration = try SampleServer.loadConfiguration(path: config)
            } else {
                serverConfiguration = try SampleServer.defaultConfiguration(port: options.port)
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

