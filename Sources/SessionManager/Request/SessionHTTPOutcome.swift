/// What a response must carry after its request's session part ended
/// (``SessionHTTPExchange/complete(handlerError:)``).
public struct SessionHTTPOutcome: Sendable, Equatable {
    /// The full `Set-Cookie` header value to add (a new or changed id, or the expiry of an
    /// invalidated session's cookie); `nil` when the client's cookie is still right.
    public let setCookie: String?
    /// When not `nil`, send this instead of the handler's answer.
    public let replacement: SessionUnavailableAnswer?

    /// An outcome (adapters' tests compare with one).
    public init(setCookie: String?, replacement: SessionUnavailableAnswer?) {
        self.setCookie = setCookie
        self.replacement = replacement
    }
}

/// The `503 Service Unavailable` that replaces an answer the session layer cannot stand behind:
/// the store was unreachable or slow, the context holds `maxActiveSessions`, or the session was
/// locked by another request or its lock was lost.
public struct SessionUnavailableAnswer: Sendable, Equatable {
    /// Seconds a client is asked to wait after a `503`.
    public static let retryAfterSeconds = 5
    /// Seconds a client is asked to wait after a `503` for a session locked by another request (or
    /// whose lock was lost): the lock is usually free again within a request's time.
    public static let lockedRetryAfterSeconds = 1

    /// The HTTP status: `503`.
    public let status = 503
    /// The `Retry-After` header's value, in seconds.
    public let retryAfterSeconds: Int
    /// Why, for people: "session store unavailable", "session locked by another request", ….
    public let reason: String
    /// The error behind it (log it as a debug line: the manager logs a store's outage once).
    public let error: SessionManagerError

    /// The answer for `error`.
    public init(_ error: SessionManagerError) {
        self.error = error
        switch error.code {
        case .tooManySessions: (reason, retryAfterSeconds) = ("too many sessions", Self.retryAfterSeconds)
        case .sessionLocked: (reason, retryAfterSeconds) = ("session locked by another request", Self.lockedRetryAfterSeconds)
        case .lockLost: (reason, retryAfterSeconds) = ("session lock lost, changes not saved", Self.lockedRetryAfterSeconds)
        default: (reason, retryAfterSeconds) = ("session store unavailable", Self.retryAfterSeconds)
        }
    }

    /// A plain-text body: `service unavailable: <reason>; retry later`.
    public var body: String { "service unavailable: \(reason); retry later\n" }
}
