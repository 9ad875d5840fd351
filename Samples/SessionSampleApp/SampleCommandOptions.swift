import ArgumentParser
import Logging
import NIOCore

/// The options both sample executables take (`SessionSample` on the bundled server,
/// `HummingbirdSample` on Hummingbird), so that one cluster's nodes start the same way.
public struct SampleCommandOptions: ParsableArguments {
    @Option(name: .long, help: "A server.xml-like configuration file (see README).")
    public var config: String?

    @Option(name: .long, help: "Port when running without --config (default 8080).")
    public var port: Int = 8080

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Event loop threads (default: one per CPU core).")
    public var threads: Int?

    public init() {}

    /// Logs to standard error at the level asked for, and sizes the event loops; call once, first.
    public func bootstrap() throws {
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
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
