#if VaporSupport
import SessionManager
import Synchronization
import Vapor

/// One request's session part for ``ClusterSessionDriver``, from Vapor's read before the handler
/// to its create, update or delete after it, kept in the request's storage.
///
/// When the handler throws, Vapor calls nothing after the read; the request's end is then this
/// object's end: its `deinit` finishes the request's session part (nothing to write: the driver
/// changes a session only in an update), so no hold on the session outlives the request.
final class DriverExchange: Sendable {
    let sessions: RequestSessions
    private let readData = Mutex<[String: String]>([:])

    init(sessions: RequestSessions) {
        self.sessions = sessions
    }

    /// The data the read gave Vapor: an update writes what differs from it.
    var read: [String: String] { readData.withLock { $0 } }

    func setRead(_ data: [String: String]) {
        readData.withLock { $0 = data }
    }

    /// Ends the session part: writes the session's changes (or deletes it if invalidated); the new
    /// id when the session has one the client does not know yet.
    /// - Throws: an `Abort(.serviceUnavailable)` when the store could not take the changes: the
    ///   client must not see a change the store does not hold.
    func save() async throws -> ClusterSessionID? {
        let action = await sessions.finish()
        if let failure = sessions.saveFailure {
            throw Abort.sessionUnavailable(failure)
        }
        if sessions.hasWorkAfterResponse {
            // Sticky: the write after the answer, off the response's path.
            let sessions = self.sessions
            Task { await sessions.afterResponse() }
        }
        if case .set(let id) = action { return id }
        return nil
    }

    /// Ends the session part without a change to write.
    func end() async {
        _ = await sessions.finish()
    }

    deinit {
        guard !sessions.isFinished else { return }
        let sessions = self.sessions
        Task { _ = await sessions.finish() }
    }
}

extension Abort {
    /// The `503` with `Retry-After` for a temporary failure of the session layer, as the driver
    /// answers through Vapor's `ErrorMiddleware`.
    static func sessionUnavailable(_ error: SessionManagerError) -> Abort {
        Abort(.serviceUnavailable, headers: ["Retry-After": String(SessionUnavailableAnswer(error).retryAfterSeconds)], reason: "\(error.code)")
    }
}

extension Request {
    /// Where ``ClusterSessionDriver`` keeps the request's session part between its calls.
    var clusterDriverExchange: DriverExchange? {
        get { storage[DriverExchangeKey.self] }
        set { storage[DriverExchangeKey.self] = newValue }
    }

    private struct DriverExchangeKey: StorageKey {
        typealias Value = DriverExchange
    }
}
#endif
