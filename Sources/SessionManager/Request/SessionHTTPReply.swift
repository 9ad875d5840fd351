/// What an HTTP layer answers for one request, decided by ``SessionHTTPExchange/respond(_:)`` from
/// the handler's result and the session part's end: the one decision every adapter shares, so
/// that the bundled server, Hummingbird and Vapor answer alike.
public enum SessionHTTPReply<Answer> {
    /// Send the handler's answer (with the exchange's `Set-Cookie`, when there is one).
    case answer(Answer)
    /// Send this `503` instead of the handler's answer or error: a temporary failure of the
    /// session layer, changes the store could not take, or a lock not had.
    case unavailable(SessionUnavailableAnswer)
    /// The handler failed with an error of its own. With `cookieRequired`, the request created or
    /// renamed its session, so the adapter answers the error itself *with* the `Set-Cookie` (the
    /// session would be lost to its client otherwise); without, it may let the error through to
    /// the framework's error handling.
    case failed(any Error, cookieRequired: Bool)
}
