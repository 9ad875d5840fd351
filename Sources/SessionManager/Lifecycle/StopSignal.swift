import Synchronization

/// A one-shot signal with one waiter: ``SessionManager/stop()`` opens it and
/// ``SessionManager/runUntilStopped()`` waits for it (or for cancellation); a job waited for with
/// a timeout opens it when done (``BackgroundWork/run(_:timeout:)``).
final class StopSignal: Sendable {
    private let stream: AsyncStream<Never>
    private let continuation: AsyncStream<Never>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Never.self)
    }

    /// Returns once ``open()`` was called, or when the task is cancelled.
    func wait() async {
        for await _ in stream {}
    }

    /// Releases the waiter (now or when it comes).
    func open() {
        continuation.finish()
    }
}
