/// One request's session handling, from its start to after its response (see
/// ``SessionHTTPAdapter``).
public struct SessionHTTPExchange: Sendable {
    /// The request's lazy access to its session: hand it to the handler.
    public let sessions: RequestSessions
    let adapter: SessionHTTPAdapter

    init(sessions: RequestSessions, adapter: SessionHTTPAdapter) {
        self.sessions = sessions
        self.adapter = adapter
    }

    /// Runs the handler, then ``complete(handlerError:)`` with what it threw, and decides what the
    /// adapter sends (see ``SessionHTTPReply``), and the `Set-Cookie` value to add to it (`nil`
    /// for a `503`, or when the client's cookie is still right).
    @inlinable
    public func respond<Answer>(_ handler: () async throws -> Answer) async -> (reply: SessionHTTPReply<Answer>, setCookie: String?) {
        let result: Result<Answer, any Error>
        do {
            result = .success(try await handler())
        } catch {
            result = .failure(error)
        }
        let handlerError: (any Error)? = if case .failure(let error) = result { error } else { nil }
        let outcome = await complete(handlerError: handlerError)
        if let replacement = outcome.replacement { return (.unavailable(replacement), nil) }
        switch result {
        case .success(let answer): return (.answer(answer), outcome.setCookie)
        case .failure(let error): return (.failed(error, cookieRequired: outcome.setCookie != nil), outcome.setCookie)
        }
    }

    /// Ends the request's session part once the handler has answered (or thrown `handlerError`):
    /// writes the session if it changed, deletes it if invalidated, and says what the response
    /// must carry. Call it exactly once, also when the handler threw.
    ///
    /// The outcome replaces the handler's answer by a `503` when the handler threw a temporary
    /// ``SessionManagerError`` (store unreachable or slow, too many sessions, session locked), or
    /// when the session's changes could not be saved (``RequestSessions/saveFailure``): the client
    /// never sees a count, a login or a logout that the store does not hold. Any other error of the
    /// handler is the adapter's to answer (the bundled server answers `500`); the cookie of the
    /// outcome still belongs on that answer, or a session the request created would be lost to
    /// its client.
    public func complete(handlerError: (any Error)? = nil) async -> SessionHTTPOutcome {
        var replacement: SessionUnavailableAnswer?
        if let error = handlerError as? SessionManagerError, error.isTemporary {
            replacement = SessionUnavailableAnswer(error)
        }
        let action = await sessions.finish()
        if let failure = sessions.saveFailure {
            return SessionHTTPOutcome(setCookie: nil, replacement: SessionUnavailableAnswer(failure))
        }
        let setCookie: String?
        switch action {
        case .none: setCookie = nil
        case .set(let id): setCookie = adapter.setCookie(id)
        case .expire: setCookie = adapter.expiringCookie
        }
        return SessionHTTPOutcome(setCookie: setCookie, replacement: replacement)
    }

    /// Call once the response has been written (its body too), also when writing it failed:
    /// sticky mode (with `sessionBackupAsync`, the default) writes the session's changes now, so
    /// the client never waits for the store. Returns at once when there is nothing to write.
    public func afterResponse() async {
        await sessions.afterResponse()
    }
}
