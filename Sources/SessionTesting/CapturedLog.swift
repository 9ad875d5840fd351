import Foundation
import Logging
import Synchronization
import Testing

/// A trait for a suite: what its tests log is kept in memory and printed only when the test fails,
/// so that a green run is quiet and a red one shows the cause next to the failure.
///
/// The servers under test log a lot (store nodes going down and up on purpose, debug lines of the
/// cluster tests): printed as they happen, thousands of such lines drowned the one line that said
/// why a test failed. `TEST_LOG=print` prints everything as it happens instead (for watching a
/// test live).
///
///     @Suite(.capturedLog) struct MyTests { … }
///
/// A logger belongs to the test whose task made it (`Logger(label:)` inside the test, or a default
/// argument evaluated there), whichever thread it later logs from. A logger made outside any test
/// prints to standard error as swift-log's default handler would.
public struct CapturedLog: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    /// One scope per test case (and per test function), none for the suite itself.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> CapturedLog? {
        testCase == nil ? nil : self
    }

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @concurrent @Sendable () async throws -> Void
    ) async throws {
        TestLogging.bootstrap()
        if TestLogging.printsEverything {
            try await function()
            return
        }
        let buffer = TestLogBuffer()
        let observer = IssueHandlingTrait.compactMapIssues { issue in
            if issue.isFailure { buffer.markFailed() }
            return issue
        }
        do {
            try await TestLogBuffer.$current.withValue(buffer) {
                try await observer.provideScope(for: test, testCase: testCase, performing: function)
            }
        } catch {
            buffer.markFailed()
            buffer.printIfFailed(test: test)
            throw error
        }
        buffer.printIfFailed(test: test)
    }
}

extension Trait where Self == CapturedLog {
    /// What the tests log is printed only for a failing test (see ``CapturedLog``).
    public static var capturedLog: Self { CapturedLog() }
}

/// The process-wide logging setup of the test bundle: one bootstrap, the first time a captured
/// test starts.
enum TestLogging {
    /// `TEST_LOG=print`: every line as it is logged, as before the capture.
    static let printsEverything = ProcessInfo.processInfo.environment["TEST_LOG"] == "print"

    private static let bootstrapped: Bool = {
        LoggingSystem.bootstrap { label in
            let buffer = printsEverything ? nil : TestLogBuffer.current
            var handler = ForwardingLogHandler { level, message, metadata, source in
                // As swift-log's StreamLogHandler formats, into the test's buffer (or standard
                // error for a logger made outside a captured test).
                let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                let line = "\(Date()) \(level) \(label):\(fields.isEmpty ? "" : " " + fields) [\(source)] \(message)"
                if let buffer {
                    buffer.append(line)
                } else {
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
            }
            handler.logLevel = .info
            return handler
        }
        return true
    }()

    static func bootstrap() { _ = bootstrapped }
}

/// The lines one test logged, and whether it failed.
final class TestLogBuffer: Sendable {
    /// The buffer of the test whose task this is.
    @TaskLocal static var current: TestLogBuffer?

    private struct State {
        var lines: [String] = []
        var dropped = 0
        var failed = false
    }

    /// Lines kept per test; a runaway logger cannot take the machine's memory.
    private static let limit = 20_000
    private let state = Mutex(State())

    func append(_ line: String) {
        state.withLock { state in
            if state.lines.count < Self.limit { state.lines.append(line) } else { state.dropped += 1 }
        }
    }

    func markFailed() { state.withLock { $0.failed = true } }

    func printIfFailed(test: Test) {
        let (lines, dropped, failed) = state.withLock { ($0.lines, $0.dropped, $0.failed) }
        guard failed, !lines.isEmpty else { return }
        var text = "── log of the failed test \(test.name) (\(lines.count) lines) ──\n"
        text += lines.joined(separator: "\n")
        if dropped > 0 { text += "\n… \(dropped) more lines dropped" }
        text += "\n── end of the log of \(test.name) ──\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
