import NIOCore
import NIOHTTP1
import SessionManager

/// The built-in `metrics` app (`<Context path="/status" app="metrics"/>`), for operators what
/// msm's JMX statistics were:
/// - `<context>/metrics`: the program's metrics in the Prometheus text format, as its metrics
///   backend renders them (`exposition`; the library picks no backend: the sample bootstraps
///   swift-prometheus and passes its registry's text here);
/// - `<context>/`: a small HTML page for people, refreshing itself every 2 s: each context's store
///   nodes with their state, operations per second, p50/p99 latency and failures over the last
///   interval, and the context's sessions in memory, relocations, takeovers and lock failures.
///
/// Mounted on an ``HTTPServer``, it shows that server's contexts (``mounted(on:)``).
public struct StatusApp: HTTPApp {
    /// The name a configuration file uses (`app="metrics"`).
    public static let name = "metrics"
    /// What the page shows; filled by the server the app is mounted on.
    public let board: StatusBoard
    private let exposition: (@Sendable () -> [UInt8])?

    /// - Parameter exposition: the Prometheus text of the program's metrics backend (for
    ///   swift-prometheus: `registry.emitToBuffer()`); `nil`: `/metrics` answers `404`.
    public init(exposition: (@Sendable () -> [UInt8])? = nil) {
        self.board = StatusBoard()
        self.exposition = exposition
    }

    public func mounted(on contexts: [MountedContext]) {
        board.show(contexts)
    }

    public func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return .text("only GET\n", status: .methodNotAllowed)
        }
        switch request.pathInContext {
        case "/metrics":
            guard let exposition else {
                return .text("no metrics backend: this program bootstrapped none (the sample bootstraps swift-prometheus)\n", status: .notFound)
            }
            // Gauges are recorded at the scrape, so none goes stale between scrapes.
            for context in board.contexts { context.sessions.manager.recordGauges() }
            return HTTPResponse(
                status: .ok,
                headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: ByteBuffer(bytes: exposition())
            )
        case "/":
            return .html(StatusPage(contexts: board.sample(), metricsPath: request.contextPath + "/metrics").html)
        default:
            return .text("not found\n", status: .notFound)
        }
    }
}
