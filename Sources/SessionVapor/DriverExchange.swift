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
    private let state = Mutex<(read: [String: String], ended: Bool)>(([:], false))

    init(sessions: RequestSessions) {
        self.sessions = sessions
    }

    /// The data the read gave Vapor: an update writes what differs from it.
    var read: [String: String] { state.withLock { $0.read } }

    func setRead(_ data: [String: String]) {
        state.withLock { $0.read = data }
    }

    /// Ends the session part: writes the session's changes (or deletes it if invalidated); the new
    /// id when the session has one the client does not know yet.
    /// - Throws: an `Abort(.serviceUnavailable)` when the store could not take the changes: the
    ///   client must not see a change the store does not hold.
    func save() async throws -> ClusterSessionID? {
        let action = await finish()
        if let failure = sessions.saveFailure {
            throw Abort(.serviceUnavailable, headers: ["Retry-After": String(SessionUnavailableAnswer(failure).retryAfterSeconds)], reason: "\(failure.code)")
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
        _ = await finish()
    }

    private func finish() async -> SessionCookieAction {
        state.withLock { $0.ended = true }
        return await sessions.finish()
    }

    deinit {
        guard !state.withLock({ $0.ended }) else { return }
        let sessions = self.sessions
        Task { _ = await sessions.finish() }
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
