import SessionManager

/// A failure of a store client (Redis or memcached), typed so that callers can tell a slow node
/// from a dead one from a server that refused the command.
public struct StoreClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case timeout, connectionClosed, nodeDown, connectFailed, protocolError, serverError, invalidKey, valueTooLarge
            case authenticationFailed, shutDown, partUnavailable, tlsConfiguration
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The command got no reply within `operationTimeout`; its connection was closed.
        public static let timeout = Code(.timeout)
        /// The connection closed before the reply arrived (the server died, or another command on
        /// the same connection timed out).
        public static let connectionClosed = Code(.connectionClosed)
        /// The node is down (the last connection attempt failed); commands fail at once until the
        /// next reconnect attempt.
        public static let nodeDown = Code(.nodeDown)
        /// A connection could not be opened (refused, unreachable, or slower than the connect timeout).
        public static let connectFailed = Code(.connectFailed)
        /// The server sent something the protocol does not allow; the connection was closed.
        public static let protocolError = Code(.protocolError)
        /// The server answered with an error (`-ERR …`, `SERVER_ERROR …`); the message is the server's.
        public static let serverError = Code(.serverError)
        /// A key the protocol cannot carry (memcached: spaces, control characters, over 250 bytes).
        public static let invalidKey = Code(.invalidKey)
        /// The server refused a value as too large.
        public static let valueTooLarge = Code(.valueTooLarge)
        /// The server refused the credentials.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The TLS settings cannot be used (a file that cannot be read or parsed): the store does
        /// not start.
        public static let tlsConfiguration = Code(.tlsConfiguration)
        /// The store was shut down.
        public static let shutDown = Code(.shutDown)
        /// One part of a sharded node (the master of a Redis Cluster slot) cannot be reached while
        /// the rest of the node answers: this command fails, the node is not down.
        public static let partUnavailable = Code(.partUnavailable)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// Details, including the server's own message where there is one.
    public let message: String
    /// The error that caused this one (a connect or channel error), if any.
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)" }

    /// Two errors are equal when their codes are.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}

extension StoreClientError: SessionStoreFailure {
    /// A node that did not answer (timeout, closed or failed connection, down, unreadable
    /// protocol, shut down) is ``StoreFailureKind/unreachable``; one that answered with a refusal
    /// (a server error, a value too large, a key it cannot hold, wrong credentials), or that is a
    /// cluster whose other parts answer while one is away (``Code/partUnavailable``), is
    /// ``StoreFailureKind/refused``: availability reacts to the first only.
    public var failureKind: StoreFailureKind {
        switch code {
        case .serverError, .valueTooLarge, .invalidKey, .authenticationFailed, .partUnavailable, .tlsConfiguration: .refused
        default: .unreachable
        }
    }
}
