import Logging
import Synchronization

/// Collects log records in memory, so a test can assert that a warning was logged.
public final class LogCapture: Sendable {
    /// One logged record.
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata
    }

    private let records = Mutex<[Record]>([])

    public init() {}

    /// A logger writing into this capture.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in
            ForwardingLogHandler { level, message, metadata, _ in
                self.append(Record(level: level, message: message.description, metadata: metadata))
            }
        }
        logger.logLevel = level
        return logger
    }

    /// Everything logged so far.
    public var all: [Record] { records.withLock { $0 } }

    /// Records at `level` whose message contains `text`.
    public func records(_ level: Logger.Level, containing text: String) -> [Record] {
        all.filter { $0.level == level && $0.message.contains(text) }
    }

    private func append(_ record: Record) { records.withLock { $0.append(record) } }
}

/// A log handler that hands each record, with the logger's metadata and the record's merged, to
/// `sink`: the one piece the test log handlers (``LogCapture``, ``CapturedLog``) share.
struct ForwardingLogHandler: LogHandler {
    let sink: @Sendable (Logger.Level, Logger.Message, Logger.Metadata, _ source: String) -> Void
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        sink(event.level, event.message, merged, event.source)
    }
}
