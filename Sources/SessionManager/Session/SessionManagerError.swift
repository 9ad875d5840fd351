/// An error of the session layer.
///
/// Extensible like `ServiceGroupError`: a ``Code`` compared by value, a human-readable message,
/// and where it was raised. Two errors are equal when their codes are.
public struct SessionManagerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case storeUnavailable, sessionTooLarge, requestIgnored, invalidConfiguration, tooManySessions
            case sessionLocked, lockLost, tooManySessionsForPrincipal
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No store node holding the session could be reached, or it failed the command (the store
        /// client's own error, with its code, is the ``SessionManagerError/underlying`` error).
        public static let storeUnavailable = Code(.storeUnavailable)
        /// An encoded session exceeds the configured maximum size.
        public static let sessionTooLarge = Code(.sessionTooLarge)
        /// The request matched `requestUriIgnorePattern`, so it has no session.
        public static let requestIgnored = Code(.requestIgnored)
        /// A configuration value is not allowed.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A new session was refused: the context holds ``ManagerConfiguration/maxActiveSessions``.
        public static let tooManySessions = Code(.tooManySessions)

        /// The session's lock could not be had within `operationTimeout` (another node held it all
        /// along, or the store failed while locking), and ``LockFailurePolicy/reject`` applies.
        public static let sessionLocked = Code(.sessionLocked)
        /// The session's lock was lost while the request ran (it expired, or another node took
        /// it): its changes were not written, so as not to overwrite a newer session.
        public static let lockLost = Code(.lockLost)
        /// A login was refused: the principal already has ``ManagerConfiguration/maxSessionsPerPrincipal``
        /// sessions and ``PrincipalLimitPolicy/reject`` applies. The session is unchanged.
        public static let tooManySessionsForPrincipal = Code(.tooManySessionsForPrincipal)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, for logs and operators.
    public let message: String
    /// The error that caused this one, if any.
    public let underlying: (any Error)?
    /// Where the error was raised.
    public let file: String
    /// Where the error was raised.
    public let line: Int

    /// Creates an error.
    public init(
        _ code: Code,
        _ message: String,
        underlying: (any Error)? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// `true` when the request may succeed if tried again later: the store is unreachable, the
    /// context is at ``ManagerConfiguration/maxActiveSessions``, or the session's
    /// lock could not be had or was lost. An HTTP layer
    /// answers these `503 Service Unavailable` with `Retry-After`; the bundled server does.
    public var isTemporary: Bool {
        code == .storeUnavailable || code == .tooManySessions || code == .sessionLocked || code == .lockLost
    }

    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
