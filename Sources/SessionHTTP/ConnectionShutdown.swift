import Synchronization

/// Whether a connection is in the middle of a request, and whether it must close after it:
/// the meeting point of the connection loop and the graceful-shutdown handler.
final class ConnectionShutdown: Sendable {
    private struct State { var busy = false; var closing = false }
    private let state = Mutex(State())

    var isClosing: Bool { state.withLock { $0.closing } }

    /// Marks the start or end of a request. Returns `false` when the connection must close now.
    @discardableResult
    func setBusy(_ busy: Bool) -> Bool {
        state.withLock {
            $0.busy = busy
            return !$0.closing
        }
    }

    /// Asks the connection to close; returns `true` when it is idle and may be closed at once
    /// (otherwise the loop closes it after the response in flight).
    func beginClosing() -> Bool {
        state.withLock {
            $0.closing = true
            return !$0.busy
        }
    }
}
